/**
 * The server a WebSocketServer runs when it is given `port`: a net.Server
 * that reads each connection's request head with the strict, bounded parser
 * of src/handshake/request-head.ts, hands upgrade requests on (as node:http's
 * 'upgrade' event would: an IncomingMessage, the socket, the bytes after the
 * head) and answers every other request itself, then closes the connection.
 *
 * Why not node:http: an upgrade needs none of its request/response machinery,
 * which costs CPU on every handshake and leaves per-socket state behind for
 * the WebSocket's whole life (listener wrappers on the socket, parser
 * fields). Servers the user passes (`server`) keep node:http, of course.
 *
 * With a `secureContext` it speaks TLS (wss://, https://): each accepted
 * connection is wrapped in a server TLSSocket (ALPN http/1.1) before its head
 * is read, under the same deadline, which then covers the TLS handshake too.
 * A peer that sends a plaintext request there is answered 400 in plaintext
 * (it could read nothing else) and closed.
 *
 * Owns: reading heads, the handshake deadline of every connection (from
 * accept until it upgrades or closes, whatever it sends meanwhile), the limit
 * on connections before their upgrade (503 above it), refusing malformed or
 * oversized heads (400, 431, 505) and answering non-upgrade requests. Must not touch: what makes an upgrade acceptable (the
 * WebSocketServer and src/handshake decide).
 */
import { IncomingMessage, STATUS_CODES } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { findHeadEnd, isPlausibleRequestStart, parseRequestHead, type RequestHead, type RequestHeadLimits } from '../handshake/index.js';

/** The answer to a request that is not an upgrade; sent with `Connection: close` and its Content-Length. */
export interface HttpAnswer {
  status: number;
  /** Content-Type first, then whatever the app adds (caching, security policy, Allow, Upgrade). */
  headers: Record<string, string>;
  /** Not sent to a HEAD request (its length still is). */
  body: string | Buffer;
}

export interface UpgradeServerOptions extends RequestHeadLimits {
  /** Time a connection has to send a complete upgrade request, in ms (0: none). */
  handshakeTimeout: number;
  /** Connections at once before their upgrade (0: no limit); more are answered 503 with Retry-After. */
  maxPending: number;
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** A complete request that is not an upgrade: its answer. */
  request(req: IncomingMessage): HttpAnswer;
  /** TLS: every connection is wrapped in a server TLSSocket with this context (wss://). */
  secureContext?: SecureContext;
  /** Told of each connection refused here: a bad head (a plaintext request on a TLS port too), or too many before their upgrade. */
  refused?(why: 'request_head' | 'max_pending_handshakes'): void;
}

export interface UpgradeServer extends Server {
  /** Destroy the connections still before their upgrade (at shutdown). */
  dropPending(): void;
}

export function createUpgradeServer(options: UpgradeServerOptions): UpgradeServer {
  const pending = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    if (options.maxPending > 0 && pending.size >= options.maxPending) {
      options.refused?.('max_pending_handshakes');
      if (options.secureContext === undefined) refuseBusy(socket);
      else {
        socket.on('error', onError);
        refuseBusy(secureSocket(socket, options.secureContext));
      }
    }
    else if (options.secureContext === undefined) readHead(socket, options, pending, startDeadline(socket, options, pending));
    else startTls(socket, options, pending, options.secureContext);
  }) as UpgradeServer;
  server.dropPending = () => {
    for (const socket of pending) socket.destroy();
  };
  return server;
}

/**
 * A connection's handshake deadline, from accept: it destroys whichever
 * socket carries the connection by then (the TCP one, or the TLSSocket that
 * took it over), which is also the one counted as pending.
 */
interface Deadline {
  socket: Socket;
  timer: NodeJS.Timeout | null;
}

function startDeadline(socket: Socket, options: UpgradeServerOptions, pending: Set<Socket>): Deadline {
  pending.add(socket);
  const deadline: Deadline = { socket, timer: null };
  if (options.handshakeTimeout > 0) deadline.timer = setTimeout(() => deadline.socket.destroy(), options.handshakeTimeout);
  return deadline;
}

function endDeadline(deadline: Deadline, pending: Set<Socket>): void {
  if (deadline.timer !== null) clearTimeout(deadline.timer);
  pending.delete(deadline.socket);
}

/** The first byte of a TLS handshake record (RFC 8446 5.1): what a TLS client sends first. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * TLS: look at the first bytes before wrapping. A plaintext request (http://
 * or ws:// to a TLS port) gets a plaintext 400 that says so, anything else
 * that is not a TLS record is dropped, and a TLS client's bytes go back into
 * the socket for the TLSSocket to read.
 */
function startTls(socket: Socket, options: UpgradeServerOptions, pending: Set<Socket>, context: SecureContext): void {
  const deadline = startDeadline(socket, options, pending);
  const onClose = () => {
    endDeadline(deadline, pending);
    socket.removeListener('data', onFirst);
  };
  const onFirst = (chunk: Buffer) => {
    // Its error listener stays: the TCP socket lives under the TLSSocket.
    socket.removeListener('close', onClose);
    if (chunk[0] !== TLS_HANDSHAKE_RECORD) {
      endDeadline(deadline, pending);
      options.refused?.('request_head');
      if (isPlausibleRequestStart(chunk)) endWith(socket, PLAINTEXT_ON_TLS, false);
      else socket.destroy();
      return;
    }
    socket.pause();
    socket.unshift(chunk); // the TLSSocket reads what the socket buffered first
    pending.delete(socket);
    deadline.socket = secureSocket(socket, context);
    pending.add(deadline.socket);
    readHead(deadline.socket, options, pending, deadline);
  };
  socket.once('data', onFirst);
  socket.once('close', onClose);
  socket.on('error', onError);
}

/** The server side of TLS over an accepted socket; a failed TLS handshake is an 'error' that ends the connection (readHead's listener). */
function secureSocket(socket: Socket, context: SecureContext): TLSSocket {
  return new TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
}

const PLAINTEXT_ON_TLS: HttpAnswer = {
  status: 400,
  headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  body: 'This port speaks TLS: use https:// or wss://\n',
};

/** One connection before its upgrade: gather the head, within the deadline and the size limit. */
function readHead(socket: Socket, options: UpgradeServerOptions, pending: Set<Socket>, deadline: Deadline): void {
  // A head that spans reads gathers here; the store doubles as it fills, so a
  // head trickled one byte at a time costs linear, not quadratic, copying.
  let store: Buffer | null = null;
  let used = 0;
  const done = () => {
    endDeadline(deadline, pending);
    socket.removeListener('data', onData);
    socket.removeListener('close', done);
    socket.removeListener('error', onError);
  };
  const onData = (chunk: Buffer) => {
    const from = used;
    let buffer = chunk;
    if (store !== null) {
      if (used + chunk.length > store.length) {
        const grown = Buffer.allocUnsafe(Math.max(used + chunk.length, store.length * 2));
        store.copy(grown, 0, 0, used);
        store = grown;
      }
      chunk.copy(store, used);
      used += chunk.length;
      buffer = store.subarray(0, used);
    }
    const end = findHeadEnd(buffer, from);
    if (end === -1) {
      if (!isPlausibleRequestStart(buffer)) refuse(400, 'Malformed request line');
      else if (buffer.length >= options.maxHeadBytes) refuse(431, `Request head larger than ${options.maxHeadBytes} bytes`);
      else if (store === null) {
        store = Buffer.allocUnsafe(Math.max(1024, chunk.length * 2));
        used = chunk.copy(store);
      }
      return;
    }
    const parsed = parseRequestHead(buffer, end, options);
    if (!parsed.ok) return refuse(parsed.status, parsed.reason);
    const upgrade = isUpgrade(parsed.head);
    const req = incomingMessage(socket, parsed.head, upgrade);
    if (!upgrade) return answer(options.request(req), req.method === 'HEAD');
    done();
    // Not flowing, not paused: the WebSocket's driver starts reading when it
    // adds its listener (node:http leaves an upgraded socket the same way).
    socket.pause();
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    options.upgrade(req, socket, buffer.subarray(end));
  };
  /** Write the answer, then close: no keep-alive on a port that serves WebSockets. */
  const answer = (reply: HttpAnswer, head: boolean) => {
    done();
    endWith(socket, reply, head);
  };
  const refuse = (status: 400 | 431 | 505, reason: string) => {
    options.refused?.('request_head');
    answer({ status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: reason }, false);
  };
  socket.on('data', onData);
  socket.on('close', done);
  socket.on('error', onError);
}

/** Write the answer and end the connection; a peer that never reads must not keep it alive. */
function endWith(socket: Socket, reply: HttpAnswer, head: boolean): void {
  if (socket.listenerCount('error') === 0) socket.on('error', onError);
  socket.end(serializeAnswer(reply, head));
  setTimeout(() => socket.destroy(), ANSWER_LINGER).unref();
}

/**
 * Too many connections are before their upgrade: this one is answered 503
 * with Retry-After once its request starts (an answer sent before the request
 * could meet a reset instead of being read), and is never counted as pending.
 */
function refuseBusy(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), ANSWER_LINGER);
  socket.on('error', onError);
  socket.once('data', () => {
    clearTimeout(timer);
    const reply: HttpAnswer = {
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': String(BUSY_RETRY_AFTER) },
      body: 'Too many handshakes in progress',
    };
    endWith(socket, reply, false);
  });
}

/** Seconds a client refused for too many handshakes in progress is asked to wait. */
export const BUSY_RETRY_AFTER = 1;
/** How long an answered connection may take to read its answer, in ms. */
const ANSWER_LINGER = 1000;

function serializeAnswer(reply: HttpAnswer, head: boolean): Buffer {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
  let text = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(reply.headers)) text += `${name}: ${value.replace(/[\r\n\0]/g, '')}\r\n`;
  text += `Content-Length: ${body.length}\r\n\r\n`;
  return head || body.length === 0 ? Buffer.from(text, 'latin1') : Buffer.concat([Buffer.from(text, 'latin1'), body]);
}

function onError(this: Socket): void {
  this.destroy();
}

/** An upgrade asks for one with Connection: upgrade and an Upgrade header (RFC 9110 7.8), on GET or not. */
function isUpgrade(head: RequestHead): boolean {
  const upgrade = head.headers['upgrade'];
  const connection = head.headers['connection'];
  return typeof upgrade === 'string' && typeof connection === 'string' && /(^|,)\s*upgrade\s*(,|$)/i.test(connection);
}

/** The request as node:http would present it to an 'upgrade' listener. */
function incomingMessage(socket: Socket, head: RequestHead, upgrade: boolean): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.method = head.method;
  req.url = head.url;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = head.versionMinor;
  req.httpVersion = `1.${head.versionMinor}`;
  req.headers = head.headers as IncomingMessage['headers'];
  req.rawHeaders = head.rawHeaders;
  req.complete = true;
  (req as IncomingMessage & { upgrade: boolean }).upgrade = upgrade;
  req.push(null); // no body: the stream is already at its end
  return req;
}
