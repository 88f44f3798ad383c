/**
 * Unread counts: for each room the user has been in, the last sequence
 * shown to them (a read mark), kept in localStorage so that counts survive a
 * reload. A room's unread count is its latest sequence (from the room list
 * and `activity`) minus its mark; rooms never visited, or left, have none.
 * Storage is injected: unit-tested in Node.
 */

export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export const READ_KEY = 'hyperws-chat:read';

export class ReadMarks {
  private readonly marks = new Map<string, number>();

  constructor(private readonly storage: KeyValue | null) {
    try {
      const saved = JSON.parse(storage?.getItem(READ_KEY) ?? '{}') as unknown;
      if (saved !== null && typeof saved === 'object') {
        for (const [room, seq] of Object.entries(saved)) if (Number.isSafeInteger(seq) && seq >= 0) this.marks.set(room, seq as number);
      }
    } catch {
      // Unreadable: start afresh.
    }
  }

  /** Everything up to `seq` in `room` was shown. A lower seq (a server that lost history) replaces the mark. */
  read(room: string, seq: number): void {
    if (this.marks.get(room) === seq) return;
    this.marks.set(room, seq);
    this.save();
  }

  /** The user left the room: no count for it any more. */
  forget(room: string): void {
    if (this.marks.delete(room)) this.save();
  }

  unread(room: string, latest: number): number {
    const mark = this.marks.get(room);
    return mark === undefined ? 0 : Math.max(0, latest - mark);
  }

  private save(): void {
    try {
      this.storage?.setItem(READ_KEY, JSON.stringify(Object.fromEntries(this.marks)));
    } catch {
      // Storage full or refused: counts last until a reload.
    }
  }
}
