/**
 * The chat protocol (version 1) as the page sees it: the message types are
 * shared with the server (../protocol.d.ts); its validating side is
 * apps/chat/server/protocol.ts. Here: the limits assumed until the server's
 * `welcome` and the length count the server uses.
 */
import type { Limits } from '../protocol.js';

export type { ChatMessage, ClientMessage, ErrorCode, Limits, Member, RoomCount, ServerMessage } from '../protocol.js';

export const DEFAULT_LIMITS: Limits = { nick: 32, room: 64, text: 2000, history: 100, maxPayload: 65536 };

/** Length in code points, as the server counts it. */
export const codePoints = (s: string): number => Array.from(s).length;
