/**
 * The retained history of rooms, in memory: per room, the latest sequence
 * number, the last LIMITS.history messages and the client ids (`cid`) of
 * those messages, so that a retried send is recognized. Used as is by
 * MemoryStore and as the readable state of FileStore (which adds the log).
 *
 * Owns no I/O and no clock. historyAfter() is the one place that decides
 * what a joining client gets for its `since`, for every store.
 */
import { LIMITS, type ChatMessage } from './protocol.js';

/** What a join gets: the room's latest sequence, the messages after `since` (or the latest), and whether some are missing. */
export interface RoomHistory {
  seq: number;
  messages: ChatMessage[];
  gap: boolean;
}

/**
 * From the retained messages of a room (a run of consecutive sequences ending
 * at `seq`, or fewer after expiry) pick what a client that saw `since` lacks.
 * A `since` above `seq` means the client saw a history this server no longer
 * has (the store was lost or reset): it gets the whole retained history and a gap.
 */
export function historyAfter(retained: readonly ChatMessage[], seq: number, since: number | undefined): RoomHistory {
  if (since === undefined) return { seq, messages: [...retained], gap: false };
  if (since > seq) return { seq, messages: [...retained], gap: true };
  const messages = retained.filter((m) => m.seq > since);
  const complete = since === seq || messages[0]?.seq === since + 1;
  return { seq, messages, gap: !complete };
}

/** Rooms whose history is kept in memory; the least recently active is forgotten first. */
export const HISTORY_ROOMS = 1000;

/** One retained message and the client id it was sent with, if any. */
export interface Entry {
  message: ChatMessage;
  cid: string | undefined;
}

interface Room {
  seq: number;
  entries: Entry[];
  byCid: Map<string, ChatMessage>;
}

export class RoomHistories {
  // Map order: least recently active room first.
  private readonly rooms = new Map<string, Room>();
  private retainedCount = 0;

  constructor(private readonly maxRooms = HISTORY_ROOMS) {}

  /** The room's latest sequence (0 when it has none). */
  seq(room: string): number {
    return this.rooms.get(room)?.seq ?? 0;
  }

  /** The message sent with this client id in this room, while it is retained. */
  find(room: string, cid: string): ChatMessage | undefined {
    return this.rooms.get(room)?.byCid.get(cid);
  }

  /** Keep a message whose seq follows the room's (the caller numbers them). */
  add(message: ChatMessage, cid: string | undefined): void {
    const room = this.touch(message.room);
    if (message.seq <= room.seq) throw new Error(`history of ${message.room}: seq ${message.seq} after ${room.seq}`);
    room.seq = message.seq;
    room.entries.push({ message, cid });
    this.retainedCount++;
    if (cid !== undefined) room.byCid.set(cid, message);
    while (room.entries.length > LIMITS.history) {
      const old = room.entries.shift()!;
      this.retainedCount--;
      if (old.cid !== undefined) room.byCid.delete(old.cid);
    }
  }

  history(room: string, since?: number): RoomHistory {
    const r = this.rooms.get(room);
    return historyAfter(r?.entries.map((e) => e.message) ?? [], r?.seq ?? 0, since);
  }

  /** Every room kept, with its latest sequence. */
  *seqs(): IterableIterator<[string, number]> {
    for (const [name, room] of this.rooms) yield [name, room.seq];
  }

  /** Every retained message, room by room (least recently active first), oldest first. */
  *entries(): IterableIterator<Entry> {
    for (const room of this.rooms.values()) yield* room.entries;
  }

  /** How many messages are retained in all. */
  get retained(): number {
    return this.retainedCount;
  }

  private touch(name: string): Room {
    let room = this.rooms.get(name);
    if (room !== undefined) this.rooms.delete(name);
    else room = { seq: 0, entries: [], byCid: new Map() };
    this.rooms.set(name, room);
    if (this.rooms.size > this.maxRooms) {
      const [oldest, forgotten] = this.rooms.entries().next().value!;
      this.rooms.delete(oldest);
      this.retainedCount -= forgotten.entries.length;
    }
    return room;
  }
}
