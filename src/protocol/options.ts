/**
 * Every limit and default of hyperws, in one table (tungstenite's
 * WebSocketConfig is the model): a reader finds any of them here, README's
 * "Limits, timeouts and defaults" table shows the same values (a test checks
 * that they agree), and no other module writes a default of its own.
 *
 * Owns: the values and the per-connection settings resolved from them. Must
 * not touch: how they are enforced (the receiver, the sender, the Node driver,
 * the server and the extensions each read what they need from here).
 */
import type { Counters } from './counters.js';
import { randomMaskKey, type MaskKeySource } from './mask-key.js';

export const DEFAULTS = {
  /** Largest message accepted, after reassembly and decompression, in bytes (0: no limit). Above it: close 1009. */
  maxPayload: 100 * 1024 * 1024,
  /** Split outgoing messages into frames of at most this many bytes (0: never split). */
  fragmentSize: 0,
  /** Answer pings with pongs (only the latest ping, while the output is congested). */
  autoPong: true,
  /** Skip UTF-8 validation of received text and close reasons. */
  skipUTF8Validation: false,
  /** Time the closing handshake may take before the transport is destroyed, in ms. */
  closeTimeout: 30_000,
  /** Time an opening handshake may take on a server, in ms (0: none). Clients have none unless asked. */
  handshakeTimeout: 10_000,
  /** Largest HTTP request head a server we create accepts, in bytes (as node:http's default). Above it: 431. */
  maxHeaderSize: 16 * 1024,
  /** Most header fields in a request to a server we create (a browser sends about 20). Above it: 431. */
  maxHeaderFields: 100,
  /** Subprotocols one upgrade request may offer (the IANA registry holds about 50). Above it: 400. */
  maxSubprotocols: 64,
  /** Extension offers in one upgrade request (browsers send one). Above it: 400. */
  maxExtensionOffers: 16,
  /** Parameters in one extension offer (RFC 7692 defines 4). Above it: 400. */
  maxExtensionParams: 16,
  /** Redirects a client follows (with followRedirects) before failing. */
  maxRedirects: 10,
  /**
   * Unsent bytes a connection may hold (its socket buffer and queue) before a
   * send, a ping, a pong or a publication meets backpressurePolicy (0: no limit).
   */
  maxBackpressure: 16 * 1024 * 1024,
  /** What a send above maxBackpressure does: 'close' (1008), 'drop' (the callback gets the error) or 'error' (send() throws). */
  backpressurePolicy: 'close',
  /** Close (1001) a connection with no traffic in either direction for this long, in ms (0: never). */
  idleTimeout: 0,
  /** Open connections a server accepts (0: no limit). Above it: 503 with Retry-After. */
  maxConnections: 0,
  /** Handshakes a server has in progress at once (connected, not yet upgraded; 0: no limit). Above it: 503 with Retry-After. */
  maxPendingHandshakes: 1024,
  /** HTTP/2 (RFC 8441), our server: streams one session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; RFC 9113 6.5.2 advises no fewer than 100). */
  http2MaxConcurrentStreams: 128,
  /** HTTP/2, our server: a session's receive window, shared by its streams, in bytes (RFC 9113 6.9.2; the protocol's initial value is 65,535). */
  http2SessionWindowSize: 1024 * 1024,
  /** permessage-deflate (RFC 7692): memory-lean by default (no context kept between messages). */
  perMessageDeflate: {
    /** Messages smaller than this are sent uncompressed. */
    threshold: 1024,
    /** zlib operations that may run at once in the process. */
    concurrencyLimit: 10,
    /** zlib compression level. */
    level: 1,
    /** zlib memLevel. */
    memLevel: 8,
    /** A server answers with server_no_context_takeover. */
    serverNoContextTakeover: true,
    /** A server answers with client_no_context_takeover. */
    clientNoContextTakeover: true,
  },
} as const;

export type Role = 'server' | 'client';

/** What a send does when the connection already holds more than maxBackpressure unsent bytes. */
export type BackpressurePolicy = 'close' | 'drop' | 'error';

/** What a Connection is created with; anything left out takes its DEFAULTS value. */
export interface ConnectionOptions {
  role: Role;
  /** Largest message accepted, after reassembly; 0 means no limit. */
  maxPayload?: number | undefined;
  /** Split outgoing messages into frames of at most this many bytes; 0 never splits. */
  fragmentSize?: number | undefined;
  /** Answer pings with pongs automatically. */
  autoPong?: boolean | undefined;
  /** Skip UTF-8 validation of incoming text. */
  skipUTF8Validation?: boolean | undefined;
  /** Source of client masking keys (default: crypto-random). Tests inject fixed keys. */
  maskKeySource?: MaskKeySource | undefined;
  /** Time the closing handshake may take, in ms: enforced by the driver (the core has no timers). */
  closeTimeout?: number | undefined;
  /** Unsent bytes allowed before a send meets the policy; 0 means no limit. Enforced by the driver. */
  maxBackpressure?: number | undefined;
  backpressurePolicy?: BackpressurePolicy | undefined;
  /** Close after this long without traffic, in ms; 0 never. Enforced by the driver. */
  idleTimeout?: number | undefined;
  /** Where a server's connections add up what they did (none by default). */
  counters?: Counters | null | undefined;
}

/**
 * The resolved, immutable settings of a connection. A server resolves them
 * once and every connection it accepts shares the same object: one pointer
 * per connection instead of a field per setting.
 */
export interface ConnectionSettings {
  readonly role: Role;
  readonly maxPayload: number;
  readonly fragmentSize: number;
  readonly autoPong: boolean;
  readonly skipUTF8Validation: boolean;
  /** Null on a server: its frames are not masked. */
  readonly maskKeySource: MaskKeySource | null;
  readonly closeTimeout: number;
  readonly maxBackpressure: number;
  readonly backpressurePolicy: BackpressurePolicy;
  readonly idleTimeout: number;
  /** Shared totals of the server's connections, or null (a client's). */
  readonly counters: Counters | null;
}

export function resolveSettings(options: ConnectionOptions): ConnectionSettings {
  return Object.freeze({
    role: options.role,
    maxPayload: options.maxPayload ?? DEFAULTS.maxPayload,
    fragmentSize: options.fragmentSize ?? DEFAULTS.fragmentSize,
    autoPong: options.autoPong ?? DEFAULTS.autoPong,
    skipUTF8Validation: options.skipUTF8Validation ?? DEFAULTS.skipUTF8Validation,
    maskKeySource: options.role === 'client' ? (options.maskKeySource ?? randomMaskKey) : null,
    closeTimeout: options.closeTimeout ?? DEFAULTS.closeTimeout,
    maxBackpressure: nonNegative('maxBackpressure', options.maxBackpressure ?? DEFAULTS.maxBackpressure),
    backpressurePolicy: policy(options.backpressurePolicy ?? DEFAULTS.backpressurePolicy),
    idleTimeout: nonNegative('idleTimeout', options.idleTimeout ?? DEFAULTS.idleTimeout),
    counters: options.counters ?? null,
  });
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new RangeError(`${name} must be a number >= 0 (0: no limit)`);
  return value;
}

function policy(value: BackpressurePolicy): BackpressurePolicy {
  if (value !== 'close' && value !== 'drop' && value !== 'error') throw new TypeError(`Unknown backpressurePolicy: ${String(value)}`);
  return value;
}
