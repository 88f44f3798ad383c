/**
 * The chat protocol (version 1) as the page sees it: what the server sends
 * and what the page may send. The server's validating side is
 * apps/chat/server/protocol.ts; the two must agree (the README documents it).
 */

export interface Member {
  id: string;
  nick: string;
}

export interface RoomCount {
  name: string;
  count: number;
}

export interface ChatMessage {
  v: 1;
  type: 'message';
  id: string;
  room: string;
  from: Member;
  text: string;
  ts: number;
}

export interface Limits {
  nick: number;
  room: number;
  text: number;
  history: number;
  maxPayload: number;
}

export type ServerMessage =
  | { v: 1; type: 'welcome'; id: string; nick: string; limits: Limits }
  | { v: 1; type: 'joined'; room: string; nick: string; members: Member[]; version: number; history: ChatMessage[] }
  | { v: 1; type: 'left'; room: string }
  | { v: 1; type: 'nick'; nick: string }
  | { v: 1; type: 'presence'; room: string; members: Member[]; version: number }
  | { v: 1; type: 'rooms'; rooms: RoomCount[]; version: number }
  | { v: 1; type: 'typing'; room: string; from: Member; typing: boolean }
  | ChatMessage
  | { v: 1; type: 'error'; code: string; message: string };

export type ClientMessage =
  | { type: 'join'; room: string; nick?: string }
  | { type: 'leave' }
  | { type: 'message'; text: string }
  | { type: 'typing'; typing: boolean }
  | { type: 'nick'; nick: string }
  | { type: 'rooms' };

export const DEFAULT_LIMITS: Limits = { nick: 32, room: 64, text: 2000, history: 100, maxPayload: 65536 };

/** Length in code points, as the server counts it. */
export const codePoints = (s: string): number => Array.from(s).length;
