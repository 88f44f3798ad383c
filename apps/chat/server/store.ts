/**
 * Where the chat keeps its shared state: who is in which room (presence),
 * member counts per room, and each room's numbered history. MemoryStore
 * serves one process and forgets everything when it stops; FileStore
 * (file-store.ts) keeps history in a log on disk; RedisStore (redis-store.ts)
 * lets every node behind the same Redis share it.
 *
 * Presence snapshots carry a version: a counter bumped by every change, read
 * atomically with the snapshot. Snapshots travel to clients through topics
 * and may arrive out of order when several nodes publish; a client keeps the
 * highest version it has seen and ignores older ones.
 *
 * Messages get their room's next sequence number from the store, at append.
 * A store resolves append() only once the message is as durable as that
 * store makes anything (memory: at once; file: fsynced; Redis: written), and
 * never lets a reader see a message before then: what a client was shown or
 * acknowledged is never renumbered.
 */
import { RoomHistories, type RoomHistory } from './history.js';
import type { ChatMessage, Member, RoomCount } from './protocol.js';

export type { RoomHistory } from './history.js';

/** One member moving: from a room (or none) to a room (or none), under a nickname. */
export interface PresenceChange {
  id: string;
  nick: string;
  /** Room left, or null. */
  from: string | null;
  /** Room joined (or the same room, for a nickname change), or null. */
  to: string | null;
}

export interface PresenceState {
  version: number;
  /** Members of every room touched by the changes or asked for, sorted. */
  rooms: Map<string, Member[]>;
  /** Every room with a member or a history, sorted by name. */
  counts: RoomCount[];
}

/** A message before the store numbers it. */
export type Draft = Omit<ChatMessage, 'seq'>;

export interface Appended {
  message: ChatMessage;
  /** The room already had a message with this client id: `message` is that one, nothing was added. */
  duplicate: boolean;
}

export interface ChatStore {
  /** Apply changes atomically; return the state of the touched rooms and of `rooms`. */
  presence(changes: PresenceChange[], rooms?: string[]): Promise<PresenceState>;
  /** Number the message and keep it, unless `cid` was already used in the room while retained. */
  append(draft: Draft, cid?: string): Promise<Appended>;
  /** The messages after `since` (or the latest LIMITS.history), oldest first. */
  history(room: string, since?: number): Promise<RoomHistory>;
  close(): Promise<void>;
}

export const byNickThenId = (a: Member, b: Member): number => (a.nick < b.nick ? -1 : a.nick > b.nick ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
export const byName = (a: RoomCount, b: RoomCount): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The room list: rooms with members and rooms with a history, each with its count and latest sequence. */
export function roomList(counts: Iterable<[string, number]>, seqs: Iterable<[string, number]>): RoomCount[] {
  const rooms = new Map<string, RoomCount>();
  for (const [name, seq] of seqs) rooms.set(name, { name, count: 0, seq });
  for (const [name, count] of counts) {
    const room = rooms.get(name);
    if (room !== undefined) room.count = count;
    else rooms.set(name, { name, count, seq: 0 });
  }
  return [...rooms.values()].sort(byName);
}

/** Presence of one process, in memory: the part MemoryStore and FileStore share. */
export class MemoryPresence {
  private version = 0;
  private readonly members = new Map<string, Map<string, string>>();

  apply(changes: PresenceChange[], rooms: string[], seqs: Iterable<[string, number]>): PresenceState {
    const touched = new Set<string>();
    for (const change of changes) {
      if (change.from !== null) {
        this.members.get(change.from)?.delete(change.id);
        if (this.members.get(change.from)?.size === 0) this.members.delete(change.from);
        touched.add(change.from);
      }
      if (change.to !== null) {
        let room = this.members.get(change.to);
        if (room === undefined) this.members.set(change.to, (room = new Map()));
        room.set(change.id, change.nick);
        touched.add(change.to);
      }
    }
    if (touched.size > 0) this.version++;
    for (const room of rooms) touched.add(room);
    const snapshot = new Map<string, Member[]>();
    for (const room of touched) {
      const members = [...(this.members.get(room) ?? [])].map(([id, nick]) => ({ id, nick }));
      snapshot.set(room, members.sort(byNickThenId));
    }
    const counts = [...this.members].map(([name, m]): [string, number] => [name, m.size]);
    return { version: this.version, rooms: snapshot, counts: roomList(counts, seqs) };
  }
}

/** Everything in memory: gone when the process stops. */
export class MemoryStore implements ChatStore {
  private readonly members = new MemoryPresence();
  private readonly rooms = new RoomHistories();

  async presence(changes: PresenceChange[], rooms: string[] = []): Promise<PresenceState> {
    return this.members.apply(changes, rooms, this.rooms.seqs());
  }

  async append(draft: Draft, cid?: string): Promise<Appended> {
    const previous = cid === undefined ? undefined : this.rooms.find(draft.room, cid);
    if (previous !== undefined) return { message: previous, duplicate: true };
    const message: ChatMessage = { ...draft, seq: this.rooms.seq(draft.room) + 1 };
    this.rooms.add(message, cid);
    return { message, duplicate: false };
  }

  async history(room: string, since?: number): Promise<RoomHistory> {
    return this.rooms.history(room, since);
  }

  async close(): Promise<void> {}
}
