/**
 * Where the chat keeps its shared state: who is in which room (presence),
 * member counts per room, and the last LIMITS.history messages of each room.
 * MemoryStore serves one process; RedisStore (redis-store.ts) lets every node
 * behind the same Redis share it.
 *
 * Presence snapshots carry a version: a counter bumped by every change, read
 * atomically with the snapshot. Snapshots travel to clients through topics
 * and may arrive out of order when several nodes publish; a client keeps the
 * highest version it has seen and ignores older ones.
 */
import { LIMITS, type ChatMessage, type Member, type RoomCount } from './protocol.js';

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
  /** Every room with at least one member, sorted by name. */
  counts: RoomCount[];
}

export interface ChatStore {
  /** Apply changes atomically; return the state of the touched rooms and of `rooms`. */
  presence(changes: PresenceChange[], rooms?: string[]): Promise<PresenceState>;
  appendHistory(message: ChatMessage): Promise<void>;
  /** The last LIMITS.history messages of a room, oldest first. */
  history(room: string): Promise<ChatMessage[]>;
  close(): Promise<void>;
}

export const byNickThenId = (a: Member, b: Member): number => (a.nick < b.nick ? -1 : a.nick > b.nick ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
export const byName = (a: RoomCount, b: RoomCount): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Rooms whose history a MemoryStore keeps; the least recently active is forgotten first. */
export const MEMORY_HISTORY_ROOMS = 1000;

export class MemoryStore implements ChatStore {
  private version = 0;
  private readonly members = new Map<string, Map<string, string>>();
  private readonly messages = new Map<string, ChatMessage[]>();

  async presence(changes: PresenceChange[], rooms: string[] = []): Promise<PresenceState> {
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
    const counts = [...this.members].map(([name, m]) => ({ name, count: m.size })).sort(byName);
    return { version: this.version, rooms: snapshot, counts };
  }

  async appendHistory(message: ChatMessage): Promise<void> {
    // Delete and set again: Map order becomes least recently active first.
    const list = this.messages.get(message.room) ?? [];
    this.messages.delete(message.room);
    this.messages.set(message.room, list);
    if (this.messages.size > MEMORY_HISTORY_ROOMS) this.messages.delete(this.messages.keys().next().value!);
    list.push(message);
    if (list.length > LIMITS.history) list.splice(0, list.length - LIMITS.history);
  }

  async history(room: string): Promise<ChatMessage[]> {
    return [...(this.messages.get(room) ?? [])];
  }

  async close(): Promise<void> {}
}
