/**
 * `CloseEvent` (WHATWG WebSockets, "The CloseEvent interface"): Node 20 has
 * Event and MessageEvent globals but no CloseEvent, so we define it on top
 * of the global Event.
 */
import { toUSVString } from 'node:util';

export interface CloseEventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  constructor(type: string, eventInitDict: CloseEventInit = {}) {
    if (arguments.length === 0) throw new TypeError('The "type" argument must be specified');
    super(type, eventInitDict);
    this.#wasClean = Boolean(eventInitDict.wasClean ?? false);
    // WebIDL unsigned short: modulo 2^16, as browsers do for `new CloseEvent('close', { code: 65537 })`.
    const code = Math.trunc(Number(eventInitDict.code ?? 0));
    this.#code = Number.isFinite(code) ? ((code % 65536) + 65536) % 65536 : 0;
    this.#reason = toUSVString(`${eventInitDict.reason ?? ''}`);
  }

  /** Whether the connection closed cleanly (the close handshake completed). */
  get wasClean(): boolean {
    return this.#wasClean;
  }

  /** The close code from the peer's Close frame; 1005 if it had none, 1006 if none arrived. */
  get code(): number {
    return this.#code;
  }

  /** The close reason from the peer's Close frame ('' if none). */
  get reason(): string {
    return this.#reason;
  }

  get [Symbol.toStringTag](): string {
    return 'CloseEvent';
  }
}

for (const name of ['wasClean', 'code', 'reason']) {
  Object.defineProperty(CloseEvent.prototype, name, { enumerable: true });
}
