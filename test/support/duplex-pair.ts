// Two in-memory Duplex streams wired to each other, as the in-process request
// injectors (light-my-request, fastify's injectWS) hand to a server: bytes
// written to one are read from the other, end() on one ends the other's
// reading side (which then ends its own writing side, as a net.Socket without
// allowHalfOpen does), and destroying one closes both. No socket, no address.
import { Duplex } from 'node:stream';

/** One end of the pair; `received()` takes every byte read so far. */
export class InMemoryEnd extends Duplex {
  peer: InMemoryEnd | null = null;
  /** Bytes read by received(), which starts reading on its first call (a server reading this end never calls it). */
  private inbox: Buffer[] | null = null;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.peer?.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = null;
    if (peer !== null && !peer.destroyed) {
      peer.peer = null;
      peer.destroy();
    }
    callback(error);
  }

  /** Every byte this end has read, consumed. Waits for at least `atLeast` bytes (or the end). */
  async received(atLeast = 1): Promise<Buffer> {
    const inbox = this.inbox ?? (this.inbox = []);
    if (this.listenerCount('data') === 0) this.on('data', (chunk: Buffer) => inbox.push(chunk));
    let size = inbox.reduce((n, b) => n + b.length, 0);
    while (size < atLeast && !this.readableEnded && !this.destroyed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.off('data', done);
          this.off('end', done);
          this.off('close', done);
          resolve();
        };
        this.on('data', done);
        this.on('end', done);
        this.on('close', done);
      });
      size = inbox.reduce((n, b) => n + b.length, 0);
    }
    return Buffer.concat(inbox.splice(0));
  }
}

/** [a, b]: what a writes, b reads, and the other way round. */
export function duplexPair(): [InMemoryEnd, InMemoryEnd] {
  const a = new InMemoryEnd();
  const b = new InMemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
