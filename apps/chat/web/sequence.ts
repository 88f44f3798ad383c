/**
 * Which messages of the joined room the page has, by sequence number: every
 * one up to `contiguous`, plus some beyond it (`ahead`) when live delivery
 * skipped or reordered one (messages from several nodes can cross). A resume
 * asks for what follows `contiguous`, so a message lost on the way is fetched
 * again and one already shown is recognized. No DOM: unit-tested in Node.
 */
export class SeqTracker {
  private last = 0;
  private readonly ahead = new Set<number>();

  /** Every message up to this sequence has been received. */
  get contiguous(): number {
    return this.last;
  }

  /** Some message after `contiguous` is still missing while a later one arrived. */
  get hasHole(): boolean {
    return this.ahead.size > 0;
  }

  /** The room's history up to `seq` is shown (a join's reply): start from there. */
  reset(seq: number): void {
    this.last = seq;
    this.ahead.clear();
  }

  /** Record a received message; false when it was already received (drop it). */
  add(seq: number): boolean {
    if (seq <= this.last || this.ahead.has(seq)) return false;
    this.ahead.add(seq);
    while (this.ahead.delete(this.last + 1)) this.last++;
    return true;
  }
}
