/**
 * The slowloris guard of the opening handshake: a deadline on each connection
 * of an HTTP(S) server a WebSocketServer listens through, so that a peer
 * cannot hold a connection (its memory, its file descriptor) open by sending a
 * request head one byte at a time. Node's own headersTimeout (60 s, checked
 * only every 30 s by default) lets such a peer stay about 90 s.
 *
 * Owns: one timer per guarded connection (kept on the socket under a
 * symbol), the listeners that arm and clear it, and the decision to destroy a
 * socket whose deadline passed. Must not read from or write to a socket, nor
 * know WebSocket rules: websocket-server.ts answers the handshake and calls
 * clearHandshakeDeadline() once a connection has upgraded or been refused.
 *
 * Two scopes:
 * - 'connection', for the server the library creates (it answers every plain
 *   request with 426): a connection must upgrade within the timeout of
 *   connecting, or close. Plain requests on it, kept alive, do not stop the clock.
 * - 'request-head', for a user's server given as `server`, which may serve
 *   ordinary HTTP on the same port: only the arrival of request heads is
 *   timed, never the application's answer (long responses, event streams,
 *   slow uploads, CONNECT tunnels are left alone). The first head must arrive
 *   within the timeout of connecting. After a response, once no other request
 *   is in flight, the connection is watched: how long it may idle stays the
 *   server's keepAliveTimeout; once bytes of a new head have arrived, the head
 *   has one to two timeouts to complete (the check runs once per timeout).
 *
 * One guard per server, shared by the WebSocketServers attached to it (the
 * first one's timeout and scope apply). Its listeners are created once per
 * guard, never per connection: at 100k connections a closure each shows.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';

export type HandshakeGuardScope = 'connection' | 'request-head';

type GuardedServer = HttpServer | HttpsServer;

const kTimer = Symbol('hyperws.handshakeDeadline');
const kWatch = Symbol('hyperws.handshakeWatch');
const kInFlight = Symbol('hyperws.requestsInFlight');
/** kWatch once bytes of a new head arrived while watching: the next check drops the connection. */
const HEAD_STARTED = -1;
/** setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A handshake timeout as a timer delay: 0 for off (0, Infinity, not a positive number), else at most what setTimeout takes. */
export function handshakeTimerDelay(timeout: number): number {
  if (!(timeout > 0) || timeout === Infinity) return 0;
  return Math.min(timeout, MAX_TIMER_DELAY);
}

interface GuardedSocket extends Socket {
  [kTimer]?: NodeJS.Timeout | undefined;
  /** undefined: a plain deadline. Otherwise watching a kept-alive connection that had read this many bytes. */
  [kWatch]?: number | undefined;
  /** Requests whose responses have not closed yet ('request-head' scope only). */
  [kInFlight]?: number;
}

// Node changes its behaviour when these have a listener (a CONNECT is handed
// over instead of refused, Expect is left to the listener), so the guard
// listens to them only while the server's owner does, to learn that a head
// arrived and the connection is the application's.
const MIRRORED_EVENTS = ['checkContinue', 'checkExpectation', 'connect'] as const;
type MirroredEvent = (typeof MIRRORED_EVENTS)[number];
const isMirrored = (event: string | symbol): event is MirroredEvent => (MIRRORED_EVENTS as readonly (string | symbol)[]).includes(event);

const guards = new WeakMap<GuardedServer, HandshakeGuard>();

export class HandshakeGuard {
  private users = 1;
  private active = true;
  private readonly connectionEvent: 'connection' | 'secureConnection';
  private readonly mirrors: Record<MirroredEvent, (...args: any[]) => void>;
  private readonly onResponseClose: (this: ServerResponse) => void;

  /**
   * The guard of `server`, created on first use and shared afterwards; null
   * when `timeout` is 0, Infinity or not a positive number: the guard is off.
   */
  static attach(server: GuardedServer, timeout: number, scope: HandshakeGuardScope): HandshakeGuard | null {
    timeout = handshakeTimerDelay(timeout);
    if (timeout === 0) return null;
    const existing = guards.get(server);
    if (existing !== undefined) {
      existing.users++;
      return existing;
    }
    const guard = new HandshakeGuard(server, timeout, scope);
    guards.set(server, guard);
    return guard;
  }

  private constructor(
    private readonly server: GuardedServer,
    readonly timeout: number,
    readonly scope: HandshakeGuardScope,
  ) {
    // TLS: time the TLSSocket (the one requests and upgrades carry); the TLS
    // handshake before it is bounded by the server's own handshakeTimeout option.
    this.connectionEvent = server instanceof TlsServer ? 'secureConnection' : 'connection';
    const guard = this;
    this.onResponseClose = function (this: ServerResponse) {
      guard.responseClosed(this.req.socket as GuardedSocket);
    };
    this.mirrors = { checkContinue: this.onRequest, checkExpectation: this.onRequest, connect: this.onConnect };
    server.on(this.connectionEvent, this.onConnection);
    if (scope === 'request-head') {
      server.on('request', this.onRequest);
      for (const event of MIRRORED_EVENTS) {
        if (server.listenerCount(event) > 0) server.on(event, this.mirrors[event]);
      }
      server.on('newListener', this.onNewListener);
      server.on('removeListener', this.onRemoveListener);
    }
  }

  /** True until the last WebSocketServer using it has released it. */
  get isActive(): boolean {
    return this.active;
  }

  /**
   * A WebSocketServer stopped using the guard. After the last one, the server
   * keeps no listener of ours and deadlines already running fire harmlessly:
   * the server and its connections are its owner's again.
   */
  release(): void {
    if (--this.users > 0 || !this.active) return;
    this.active = false;
    guards.delete(this.server);
    const server = this.server;
    server.removeListener(this.connectionEvent, this.onConnection);
    if (this.scope === 'request-head') {
      server.removeListener('newListener', this.onNewListener);
      server.removeListener('removeListener', this.onRemoveListener);
      server.removeListener('request', this.onRequest);
      for (const event of MIRRORED_EVENTS) server.removeListener(event, this.mirrors[event]);
    }
  }

  private readonly onConnection = (socket: GuardedSocket): void => {
    arm(socket, this, undefined);
  };

  // A complete head: the connection is the application's until the response closes.
  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as GuardedSocket;
    socket[kInFlight] = (socket[kInFlight] ?? 0) + 1;
    clearHandshakeDeadline(socket);
    res.on('close', this.onResponseClose); // emitted once
  };

  // CONNECT: the socket is handed over to the application for good.
  private readonly onConnect = (_req: IncomingMessage, socket: Duplex): void => {
    clearHandshakeDeadline(socket);
  };

  private responseClosed(socket: GuardedSocket): void {
    const inFlight = (socket[kInFlight] ?? 1) - 1;
    socket[kInFlight] = inFlight;
    if (inFlight === 0 && this.active && !socket.destroyed) arm(socket, this, socket.bytesRead);
  }

  private readonly onNewListener = (event: string | symbol, listener: unknown): void => {
    if (!isMirrored(event) || listener === this.mirrors[event]) return;
    // Emitted before the owner's listener is added: ours goes first, and only once.
    if (!this.server.listeners(event).includes(this.mirrors[event])) this.server.on(event, this.mirrors[event]);
  };

  private readonly onRemoveListener = (event: string | symbol, listener: unknown): void => {
    if (!isMirrored(event) || listener === this.mirrors[event]) return;
    const rest = this.server.listeners(event);
    if (rest.length === 1 && rest[0] === this.mirrors[event]) this.server.removeListener(event, this.mirrors[event]);
  };
}

/**
 * Stops the connection's deadline: it has upgraded or been refused (the
 * refusal closes it). A no-op for sockets that have none (noServer mode).
 */
export function clearHandshakeDeadline(socket: Duplex): void {
  const s = socket as GuardedSocket;
  const timer = s[kTimer];
  if (timer === undefined) return;
  clearTimeout(timer);
  s[kTimer] = undefined;
  if (s[kWatch] !== undefined) s[kWatch] = undefined;
  s.removeListener('close', onGuardedSocketClose);
}

function arm(socket: GuardedSocket, guard: HandshakeGuard, watch: number | undefined): void {
  const previous = socket[kTimer];
  if (previous === undefined) socket.on('close', onGuardedSocketClose);
  else clearTimeout(previous);
  socket[kTimer] = setTimeout(onDeadline, guard.timeout, socket, guard);
  // Only watched sockets get the property: an upgraded one carries as little as possible.
  if (watch !== undefined || socket[kWatch] !== undefined) socket[kWatch] = watch;
}

function onDeadline(socket: GuardedSocket, guard: HandshakeGuard): void {
  if (!guard.isActive) return clearHandshakeDeadline(socket);
  const watch = socket[kWatch];
  if (watch === undefined || watch === HEAD_STARTED) {
    socket.destroy();
    return;
  }
  // Watching between requests: no new byte means idle, which is
  // keepAliveTimeout's business; bytes mean a head has started.
  if (socket.bytesRead !== watch) socket[kWatch] = HEAD_STARTED;
  socket[kTimer]!.refresh();
}

// Shared by every guarded socket (no closure per connection).
function onGuardedSocketClose(this: GuardedSocket): void {
  clearHandshakeDeadline(this);
}
