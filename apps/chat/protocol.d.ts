/**
 * The chat wire protocol, version 1, as types only: what a client may send
 * and what the server sends, shared by the server (server/protocol.ts, which
 * also validates and owns the runtime LIMITS) and the page (web/protocol.ts).
 * A declaration file, so neither build emits it and neither rootDir holds it:
 * both import it with `import type`, erased from their output.
 */

export interface Member {
  id: string;
  nick: string;
}

/** A room in the list: members now, and the sequence of its latest message (0: none yet). */
export interface RoomCount {
  name: string;
  count: number;
  seq: number;
}

/** A chat message as broadcast and kept in history. */
export interface ChatMessage {
  v: 1;
  type: 'message';
  id: string;
  room: string;
  /** Position in the room: 1, 2, 3... with no holes, never reused. */
  seq: number;
  from: Member;
  text: string;
  /** Server time, ms since the epoch. */
  ts: number;
}

/** The limits the server enforces, sent in `welcome`. */
export interface Limits {
  /** Longest nickname, in code points. */
  nick: number;
  /** Longest room name, in code points. */
  room: number;
  /** Longest message text, in code points. */
  text: number;
  /** Messages of a room kept, sent on join and recoverable after a disconnection. */
  history: number;
  /** Largest WebSocket message accepted; larger ones close the connection with 1009. */
  maxPayload: number;
}

export type ErrorCode =
  | 'bad_json'
  | 'bad_message'
  | 'unsupported_version'
  | 'unknown_type'
  | 'too_long'
  | 'binary_not_supported'
  | 'rate_limited'
  | 'not_in_room'
  | 'unavailable';

/** What a client may send. */
export type ClientMessage =
  | { type: 'join'; room: string; nick?: string; since?: number }
  | { type: 'leave' }
  | { type: 'message'; text: string; cid?: string }
  | { type: 'typing'; typing: boolean }
  | { type: 'nick'; nick: string }
  | { type: 'rooms' };

/** What the server sends. */
export type ServerMessage =
  | { v: 1; type: 'welcome'; id: string; nick: string; limits: Limits }
  | {
      v: 1;
      type: 'joined';
      room: string;
      nick: string;
      members: Member[];
      version: number;
      /** The room's latest sequence when `history` was read. */
      seq: number;
      /** With `since`: the messages after it; without: the latest ones. Oldest first. */
      history: ChatMessage[];
      /** Messages after `since` are missing from `history` (beyond the bound, or the server lost them). */
      gap: boolean;
    }
  | { v: 1; type: 'ack'; cid: string; message: ChatMessage }
  | { v: 1; type: 'activity'; room: string; seq: number }
  | { v: 1; type: 'left'; room: string }
  | { v: 1; type: 'nick'; nick: string }
  | { v: 1; type: 'presence'; room: string; members: Member[]; version: number }
  | { v: 1; type: 'rooms'; rooms: RoomCount[]; version: number }
  | { v: 1; type: 'typing'; room: string; from: Member; typing: boolean }
  | ChatMessage
  | { v: 1; type: 'error'; code: ErrorCode; message: string };
