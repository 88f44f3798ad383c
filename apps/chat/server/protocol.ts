/**
 * The chat wire protocol, version 1: JSON text messages `{ v: 1, type, ... }`.
 * Owns the limits and the validation of what clients send (by hand: no
 * schema library); the message shapes are types shared with the page
 * (../protocol.d.ts). Pure functions, no I/O: the server (chat-server.ts)
 * decides what to do with a verdict.
 *
 * Lengths are counted in Unicode code points, so an emoji counts as one.
 * Names (nicknames, rooms) are trimmed and must not contain control
 * characters, line separators or bidirectional overrides (spoofing).
 */
import type { ChatMessage, ClientMessage, ErrorCode, Limits, Member, RoomCount, ServerMessage } from '../protocol.js';

export type { ChatMessage, ClientMessage, ErrorCode, Limits, Member, RoomCount, ServerMessage };

export const PROTOCOL_VERSION = 1;

export const LIMITS = {
  nick: 32,
  room: 64,
  text: 2000,
  history: 100,
  maxPayload: 64 * 1024,
} as const satisfies Limits;

/** Errors that count towards the abuse limit (malformed input, not bad luck). */
export const ABUSE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad_json',
  'bad_message',
  'unsupported_version',
  'unknown_type',
  'too_long',
  'binary_not_supported',
]);

export type Verdict = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string };

const fail = (code: ErrorCode, message: string): Verdict => ({ ok: false, code, message });

// C0/C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates.
const FORBIDDEN_IN_NAME = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
// A client's id for one send (`cid`): what a retry repeats so that the server stores it once.
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
// In message text, tab and line breaks are fine; other controls are not.
const FORBIDDEN_IN_TEXT = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;

export const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** A nickname or room name: trimmed, 1..max code points, no control characters. */
export function checkName(field: 'nick' | 'room', value: unknown): { ok: true; value: string } | { ok: false; code: ErrorCode; message: string } {
  if (typeof value !== 'string') return { ok: false, code: 'bad_message', message: `'${field}' must be a string` };
  const name = value.trim();
  const max = LIMITS[field];
  if (name.length === 0) return { ok: false, code: 'bad_message', message: `'${field}' must not be empty` };
  if (codePoints(name) > max) return { ok: false, code: 'too_long', message: `'${field}' is longer than ${max} characters` };
  if (FORBIDDEN_IN_NAME.test(name)) return { ok: false, code: 'bad_message', message: `'${field}' contains control characters` };
  return { ok: true, value: name };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validate one text message from a client. Unknown extra fields are ignored
 * (and never forwarded); everything the server uses is checked here.
 */
export function parseClientMessage(text: string): Verdict {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail('bad_json', 'the message is not valid JSON');
  }
  if (!isPlainObject(data)) return fail('bad_message', 'a message must be a JSON object');
  if (data['v'] !== PROTOCOL_VERSION) return fail('unsupported_version', `unsupported protocol version: expected "v": ${PROTOCOL_VERSION}`);
  const type = data['type'];
  if (typeof type !== 'string') return fail('bad_message', "'type' must be a string");
  switch (type) {
    case 'join': {
      const room = checkName('room', data['room']);
      if (!room.ok) return room;
      const message: Extract<ClientMessage, { type: 'join' }> = { type, room: room.value };
      if (data['nick'] !== undefined) {
        const nick = checkName('nick', data['nick']);
        if (!nick.ok) return nick;
        message.nick = nick.value;
      }
      if (data['since'] !== undefined) {
        const since = data['since'];
        if (!Number.isSafeInteger(since) || (since as number) < 0) return fail('bad_message', "'since' must be a sequence number (an integer >= 0)");
        message.since = since as number;
      }
      return { ok: true, message };
    }
    case 'nick': {
      const nick = checkName('nick', data['nick']);
      if (!nick.ok) return nick;
      return { ok: true, message: { type, nick: nick.value } };
    }
    case 'message': {
      const body = data['text'];
      if (typeof body !== 'string') return fail('bad_message', "'text' must be a string");
      if (body.trim().length === 0) return fail('bad_message', "'text' must not be empty");
      if (codePoints(body) > LIMITS.text) return fail('too_long', `'text' is longer than ${LIMITS.text} characters`);
      if (FORBIDDEN_IN_TEXT.test(body)) return fail('bad_message', "'text' contains control characters");
      const cid = data['cid'];
      if (cid === undefined) return { ok: true, message: { type, text: body } };
      if (typeof cid !== 'string' || !CLIENT_ID.test(cid)) return fail('bad_message', "'cid' must be 1 to 64 letters, digits, '-' or '_'");
      return { ok: true, message: { type, text: body, cid } };
    }
    case 'typing': {
      const typing = data['typing'];
      if (typeof typing !== 'boolean') return fail('bad_message', "'typing' must be true or false");
      return { ok: true, message: { type, typing } };
    }
    case 'leave':
    case 'rooms':
      return { ok: true, message: { type } };
    default:
      return fail('unknown_type', `unknown message type '${type.slice(0, 32)}'`);
  }
}

/** Serialize a server message (one place, so every reply carries v: 1). */
export const encode = (message: ServerMessage): string => JSON.stringify(message);

export const errorMessage = (code: ErrorCode, message: string): ServerMessage => ({ v: 1, type: 'error', code, message });
