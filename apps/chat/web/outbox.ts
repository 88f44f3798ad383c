/**
 * Messages typed but not yet acknowledged by the server. Each has a client id
 * (`cid`) that every retry repeats, so the server stores it once however many
 * times it is sent (after a reconnection, a lost ack, a rate limit). An entry
 * leaves the outbox only on its `ack`. No DOM: unit-tested in Node.
 */
export interface Pending {
  cid: string;
  room: string;
  text: string;
  /** When it was last handed to a socket (ms; 0: never). */
  sentAt: number;
}

/** 128 random bits as 32 hex digits (crypto.randomUUID needs a secure context; this does not). */
export function newClientId(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  return Array.from(random(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  // Insertion order: the order the user sent them in.
  private readonly entries = new Map<string, Pending>();

  add(room: string, text: string, cid: string = newClientId()): Pending {
    const entry: Pending = { cid, room, text, sentAt: 0 };
    this.entries.set(cid, entry);
    return entry;
  }

  /** The server has it: forget it. Returns the entry, or undefined for an ack already seen. */
  ack(cid: string): Pending | undefined {
    const entry = this.entries.get(cid);
    this.entries.delete(cid);
    return entry;
  }

  /** The room's entries due for a (re)send at `now`: never sent, or sent `retryMs` ago without an ack. */
  due(room: string, now: number, retryMs: number): Pending[] {
    return [...this.entries.values()].filter((e) => e.room === room && (e.sentAt === 0 || now - e.sentAt >= retryMs));
  }

  /** A new connection: nothing sent on the old one counts as sent. */
  unsent(): void {
    for (const e of this.entries.values()) e.sentAt = 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
