/**
 * Totals over all the connections of one server: what its stats() and
 * /metrics report. One object per server, reached through the settings every
 * connection already shares, so counting costs no memory per connection and
 * one increment per event. Plain numbers: readers take a snapshot.
 *
 * Owns: the numbers. The core counts messages and compression; the Node
 * driver counts wire bytes, close codes and backpressure; the server counts
 * handshakes (see src/node/server-stats.ts).
 */
export class Counters {
  /** Complete messages received and sent (a publication counts once per connection it is written to). */
  messagesIn = 0;
  messagesOut = 0;
  /** Bytes read from and handed to the transports, frames and all. */
  bytesIn = 0;
  bytesOut = 0;
  /** permessage-deflate: payload bytes given to the compressor, and what came out. */
  deflateInput = 0;
  deflateOutput = 0;
  /** Connections closed, by the close code their 'close' event reported. */
  readonly closeCodes = new Map<number, number>();
  /** Sends refused above maxBackpressure: connections closed for it, and sends dropped (or thrown). */
  backpressureCloses = 0;
  backpressureDrops = 0;

  closed(code: number): void {
    this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
  }
}
