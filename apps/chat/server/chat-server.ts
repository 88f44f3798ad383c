/**
 * The chat-room server: one HTTP server on one port serves the page
 * (GET /, /app.js, /style.css... from the built web directory, and the
 * library's ReconnectingWebSocket under /lib/reconnect/) and the
 * WebSocket endpoint (/ws), speaking the JSON protocol of protocol.ts.
 *
 * Rooms are topics ('room:<name>'); every connection also subscribes to
 * 'rooms', where member counts and activity are published. With a Redis URL
 * the topics go through the Redis adapter and presence/history live in Redis
 * (redis-store.ts), so several processes serve the same rooms. Otherwise,
 * with a data directory, history lives in its log (file-store.ts); with
 * neither, in memory.
 *
 * Each connection's messages are handled one after another (a promise
 * chain): a join's presence write always precedes that connection's later
 * messages and its final leave. Limits apply on arrival, before queueing:
 * rate (token bucket), then validation; errors reply with
 * { v: 1, type: 'error', code, message } and malformed input counts towards
 * the abuse limit (close 1008).
 *
 * Owns its HTTP server, WebSocketServer, store and Redis adapter; close()
 * removes this node's members from presence, then closes every client with
 * 1001 and releases Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode, WebSocket, WebSocketServer, redisAdapter, type HeartbeatOptions, type RedisAdapter, type VerifyClientInfo } from 'hyperws';
import { RedisReadyTimeout, closeServers, listen, operationsAnswer, readStaticDir, readyWithin, serveStatic, writeAnswer, type StaticFile } from 'hyperws/app-kit';
import { DEFAULT_ABUSE, DEFAULT_RATE_LIMIT, TokenBucket, WindowCounter, type AbuseOptions, type RateLimitOptions } from './limits.js';
import {
  ABUSE_CODES,
  LIMITS,
  encode,
  errorMessage,
  parseClientMessage,
  type ClientMessage,
  type ServerMessage,
  type Verdict,
} from './protocol.js';
import { FileStore } from './file-store.js';
import { RedisStore, type RedisCommands } from './redis-store.js';
import { MemoryStore, type ChatStore, type Draft, type PresenceChange, type PresenceState } from './store.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 15_000, timeoutMs: 10_000 };
/** Rate-limited messages tolerated within the window before closing with 1008. */
export const DEFAULT_FLOOD: AbuseOptions = { limit: 100, windowMs: 10_000 };
/**
 * node:http limits of the chat's server, as for `hyperws serve`: Node's
 * defaults (60 s for a request head, 300 s for a request, enforced every 30 s)
 * suit uploads, and the chat serves only a few static files and upgrades.
 * The WebSocketServer's handshake guard (handshakeTimeout) covers this server
 * too; these are the second line.
 */
export const HTTP_TIMEOUTS = {
  /** A request head (at most 16 KiB) takes milliseconds on any working link. */
  headersTimeout: 10_000,
  /** A whole request, body included: the chat takes none. */
  requestTimeout: 30_000,
  /** Idle time between requests on a kept-alive connection (the page's files come back to back). */
  keepAliveTimeout: 5_000,
  /** How often Node enforces headersTimeout and requestTimeout (default 30 s). */
  connectionsCheckingInterval: 1_000,
} as const;
export const WS_PATH = '/ws';
export const ROOMS_TOPIC = 'rooms';
export const roomTopic = (room: string): string => `room:${room}`;

export interface ChatServerOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** redis://... to share rooms, presence and history with other nodes. */
  redis?: string;
  /** Without redis: keep rooms and history in a log in this directory (default: in memory only). */
  dataDir?: string;
  /** Ping/timeout of idle clients (default 15 s / 10 s); false disables it. */
  heartbeat?: HeartbeatOptions | false;
  /** The WebSocketServer's slowloris guard: time to deliver each request head, in ms (default 10 s; 0 off). */
  handshakeTimeout?: number;
  rateLimit?: RateLimitOptions;
  /** Malformed messages tolerated within a window (default 5 in 10 s). */
  abuse?: AbuseOptions;
  /** Rate-limited messages tolerated within a window (default 100 in 10 s). */
  flood?: AbuseOptions;
  /** Directory of the built page (default: ../web/ next to this module). */
  webRoot?: string;
  /** Redis mode: lifetime of this node's liveness key (default 15 s). */
  nodeTtlMs?: number;
  /** Redis mode: give up starting when Redis is not ready after this long (default 10 s). */
  redisReadyTimeoutMs?: number;
  /** One line per notable event (default: nothing). */
  log?: (line: string) => void;
  /** Answer GET /metrics, /healthz and /readyz (default: when bound to loopback). */
  operations?: boolean;
}

export interface ChatServer {
  /** http://HOST:PORT/ with the bound port. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly nodeId: string;
  readonly wss: WebSocketServer;
  /**
   * Remove this node's members, close clients with `code` (default 1001;
   * 1012, Service Restart, when the node restarts: clients reconnect, to
   * another node or to this one), release Redis. Idempotent.
   */
  close(code?: number): Promise<void>;
}

interface Session {
  readonly id: string;
  nick: string;
  room: string | null;
  readonly bucket: TokenBucket;
  readonly errors: WindowCounter;
  readonly floods: WindowCounter;
  /** This connection's handlers, one after another. */
  chain: Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Where the page loads the library's ReconnectingWebSocket from (the build copies dist/esm/reconnect/web.js and its imports there). */
export const PAGE_LIBRARY_DIR = 'lib/reconnect';

/**
 * The built page: every servable file of the web directory and of its
 * lib/reconnect/ (the library's browser modules), read once, and nothing
 * else: a request names one of these map keys or gets a 404, so no path
 * reaches the file system. index.html is also '/'.
 */
function loadPage(webRoot: string): Map<string, StaticFile> {
  let files: Map<string, StaticFile>;
  try {
    files = readStaticDir(webRoot, CONTENT_TYPES);
    for (const [path, file] of readStaticDir(join(webRoot, PAGE_LIBRARY_DIR), { '.js': CONTENT_TYPES['.js']! }, `/${PAGE_LIBRARY_DIR}/`)) files.set(path, file);
  } catch (error) {
    throw new Error(`cannot read the chat page in ${webRoot} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); build it with npm run build`);
  }
  const index = files.get('/index.html');
  if (index === undefined) throw new Error(`the chat page is not built (no index.html in ${webRoot}); build it with npm run build`);
  return files.set('/', index);
}

/**
 * The built page: ../web/ next to this module in dist/apps/chat/. The test
 * build (build/apps/chat/server/) has no page of its own and uses dist's.
 */
function defaultWebRoot(): string {
  const candidates = ['../web/', '../../../../dist/apps/chat/web/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const log = options.log ?? (() => {});
  const page = loadPage(options.webRoot ?? defaultWebRoot());
  const nodeId = randomBytes(4).toString('hex');
  let closing = false;

  let adapter: RedisAdapter | null = null;
  let store: ChatStore;
  let node: ChatNode | null = null;
  if (options.redis !== undefined) {
    adapter = redisAdapter({
      url: options.redis,
      // Quiet while closing: unsubscribes of closing clients race the quit.
      onError: (error) => {
        if (!closing) log(`redis: ${error.message}`);
      },
    });
    try {
      await readyWithin(adapter, options.redisReadyTimeoutMs ?? 10_000);
    } catch (error) {
      throw error instanceof RedisReadyTimeout ? new Error(`cannot connect to Redis at ${options.redis} (${error.message})`) : error;
    }
    const redisStore = new RedisStore(adapter.client as unknown as RedisCommands, {
      nodeId,
      ...(options.nodeTtlMs !== undefined ? { nodeTtlMs: options.nodeTtlMs } : {}),
      onChange: (state) => node?.publishPresence(state, true),
      localMembers: () => node?.localMembers() ?? [],
      onError: (error) => log(`redis: ${error.message}`),
    });
    try {
      await redisStore.start();
    } catch (error) {
      await adapter.close();
      throw new Error(`cannot use Redis at ${options.redis}: ${(error as Error).message}`);
    }
    store = redisStore;
  } else if (options.dataDir !== undefined) {
    const fileStore = await FileStore.open({ dir: options.dataDir, log });
    const { records, skipped, tornBytes } = fileStore.report;
    log(`history in ${options.dataDir}: ${records} record${records === 1 ? '' : 's'} replayed${skipped > 0 ? `, ${skipped} unreadable skipped` : ''}${tornBytes > 0 ? `, ${tornBytes} bytes of an unfinished write removed` : ''}`);
    store = fileStore;
  } else {
    store = new MemoryStore();
  }

  const statics = serveStatic({
    files: page,
    headers: { 'Cache-Control': 'no-cache', ...SECURITY_HEADERS },
    endpoint: { path: WS_PATH, message: 'Upgrade Required: this is the chat WebSocket endpoint\n' },
  });
  const host = options.host ?? DEFAULT_HOST;
  const operations = options.operations ?? isLoopback(host);
  // Operations: /metrics, /healthz and /readyz from the WebSocketServer's numbers (its adapter included).
  const ops = { metrics: () => wss.metrics(), isReady: () => wss.isReady() && http.listening };
  const http = createServer(HTTP_TIMEOUTS, (req, res) => {
    const answer = operations && (req.method === 'GET' || req.method === 'HEAD') ? operationsAnswer(new URL(req.url ?? '/', 'http://x').pathname, ops) : null;
    if (answer !== null) writeAnswer(req, res, answer);
    else statics(req, res);
  });
  const wss = new WebSocketServer({
    server: http,
    path: WS_PATH,
    maxPayload: LIMITS.maxPayload,
    ...(options.handshakeTimeout !== undefined ? { handshakeTimeout: options.handshakeTimeout } : {}),
    ...(options.heartbeat !== false ? { heartbeat: options.heartbeat ?? DEFAULT_HEARTBEAT } : {}),
    ...(adapter !== null ? { adapter } : {}),
    // Browsers always send Origin: only the page's own origin may connect
    // (cross-site WebSocket hijacking). Other clients send none and pass.
    verifyClient: ({ origin, req }: VerifyClientInfo) => origin === '' || sameHost(origin, req.headers.host),
  });
  wss.on('error', () => {}); // listen errors are reported below, through http
  node = new ChatNode(nodeId, wss, store, {
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    abuse: options.abuse ?? DEFAULT_ABUSE,
    flood: options.flood ?? DEFAULT_FLOOD,
    log,
  });
  const chat = node;
  wss.on('connection', (ws: WebSocket) => chat.accept(ws));

  let port: number;
  try {
    ({ port } = await listen(http, options.port ?? DEFAULT_PORT, host));
  } catch (error) {
    closing = true;
    wss.close();
    await store.close();
    await adapter?.close();
    throw error;
  }
  http.on('error', (error) => log(`http: ${error.message}`));

  let closed: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    host,
    port,
    nodeId,
    wss,
    close(code = 1001) {
      closing = true;
      return (closed ??= shutdown(chat, wss, http, store, adapter, code));
    },
  };
}

async function shutdown(chat: ChatNode, wss: WebSocketServer, http: Server, store: ChatStore, adapter: RedisAdapter | null, code: number): Promise<void> {
  await chat.stop();
  await store.close();
  // Here rather than through wss.close(), which only starts it: we wait for Redis to quit.
  await adapter?.close();
  await closeServers(wss, http, code);
}

/** Addresses only this machine reaches: the operations endpoints answer there by default. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

interface NodeOptions {
  rateLimit: RateLimitOptions;
  abuse: AbuseOptions;
  flood: AbuseOptions;
  log: (line: string) => void;
}

/** The chat logic of one node: sessions, handlers, presence publication. */
export class ChatNode {
  private readonly sessions = new Map<WebSocket, Session>();
  private nextMember = 1;
  private stopping = false;

  constructor(
    readonly nodeId: string,
    private readonly wss: WebSocketServer,
    private readonly store: ChatStore,
    private readonly options: NodeOptions,
  ) {}

  accept(ws: WebSocket): void {
    if (this.stopping) return void ws.close(CloseCode.GoingAway, 'Server shutting down');
    const n = this.nextMember++;
    const now = performance.now();
    const session: Session = {
      id: `${this.nodeId}.${n}`,
      nick: `guest-${randomBytes(2).toString('hex')}`,
      room: null,
      bucket: new TokenBucket(this.options.rateLimit, now),
      errors: new WindowCounter(this.options.abuse),
      floods: new WindowCounter(this.options.flood),
      chain: Promise.resolve(),
    };
    this.sessions.set(ws, session);
    ws.on('error', () => {}); // 'close' follows and says enough
    ws.on('message', (data: unknown, isBinary: boolean) => this.onMessage(ws, session, data, isBinary));
    ws.on('close', () => this.onClose(ws, session));
    ws.subscribe(ROOMS_TOPIC);
    send(ws, { v: 1, type: 'welcome', id: session.id, nick: session.nick, limits: LIMITS });
    this.enqueue(ws, session, () => this.sendRooms(ws));
  }

  /** Members of this node, as changes that (re)register them. */
  localMembers(): PresenceChange[] {
    const changes: PresenceChange[] = [];
    for (const s of this.sessions.values()) if (s.room !== null) changes.push({ id: s.id, nick: s.nick, from: null, to: s.room });
    return changes;
  }

  /** Stop handling messages and take this node's members out of presence (other nodes are told). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.sessions.values()].map((s) => s.chain));
    const changes: PresenceChange[] = [];
    for (const s of this.sessions.values()) {
      if (s.room !== null) changes.push({ id: s.id, nick: s.nick, from: s.room, to: null });
      s.room = null;
    }
    if (changes.length === 0) return;
    try {
      this.publishPresence(await this.store.presence(changes), true);
    } catch (error) {
      this.options.log(`presence cleanup failed: ${(error as Error).message}`);
    }
  }

  private onMessage(ws: WebSocket, session: Session, data: unknown, isBinary: boolean): void {
    if (this.stopping) return;
    // Limits are checked on arrival; replies (errors included) go through the
    // chain so that they come back in the order of the requests.
    const now = performance.now();
    if (!session.bucket.take(now)) {
      const { perSecond, burst } = this.options.rateLimit;
      return this.enqueue(ws, session, async () => {
        send(ws, errorMessage('rate_limited', `too many messages: at most ${perSecond} per second, bursts of ${burst}`));
        if (session.floods.record(now)) ws.close(CloseCode.PolicyViolation, 'Rate limit exceeded repeatedly');
      });
    }
    const verdict: Verdict = isBinary
      ? { ok: false, code: 'binary_not_supported', message: 'binary messages are not supported: send JSON text' }
      : parseClientMessage(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
    this.enqueue(ws, session, async () => {
      if (verdict.ok) return this.handle(ws, session, verdict.message);
      send(ws, errorMessage(verdict.code, verdict.message));
      if (ABUSE_CODES.has(verdict.code) && session.errors.record(now)) ws.close(CloseCode.PolicyViolation, 'Too many invalid messages');
    });
  }

  private enqueue(ws: WebSocket, session: Session, task: () => Promise<void>): void {
    session.chain = session.chain.then(task).catch((error: Error) => {
      this.options.log(`connection ${session.id}: ${error.message}`);
      send(ws, errorMessage('unavailable', 'the chat service is temporarily unavailable; try again'));
    });
  }

  /** Leave the room; the session stays listed until then, so stop() waits for it. */
  private onClose(ws: WebSocket, session: Session): void {
    session.chain = session.chain
      .then(async () => {
        const room = session.room;
        session.room = null;
        if (room !== null) this.publishPresence(await this.store.presence([{ id: session.id, nick: session.nick, from: room, to: null }]), true);
      })
      .catch((error: Error) => this.options.log(`connection ${session.id} leaving: ${error.message}`))
      .finally(() => this.sessions.delete(ws));
  }

  private async handle(ws: WebSocket, session: Session, message: ClientMessage): Promise<void> {
    if (ws.readyState !== WebSocket.OPEN) return;
    switch (message.type) {
      case 'join':
        return this.join(ws, session, message.room, message.nick ?? session.nick, message.since);
      case 'leave': {
        const room = session.room;
        if (room === null) return void send(ws, errorMessage('not_in_room', 'you are not in a room'));
        ws.unsubscribe(roomTopic(room));
        session.room = null;
        const state = await this.store.presence([{ id: session.id, nick: session.nick, from: room, to: null }]);
        send(ws, { v: 1, type: 'left', room });
        return this.publishPresence(state, true);
      }
      case 'message': {
        const room = session.room;
        if (room === null) return void send(ws, errorMessage('not_in_room', 'join a room before sending messages'));
        const draft: Draft = {
          v: 1,
          type: 'message',
          id: randomUUID(),
          room,
          from: { id: session.id, nick: session.nick },
          text: message.text,
          ts: Date.now(),
        };
        // Stored (numbered, durable) first: whoever joins or recovers after
        // seeing this message live finds it in history too.
        const { message: chat, duplicate } = await this.store.append(draft, message.cid);
        if (!duplicate) {
          this.wss.publish(roomTopic(room), encode(chat));
          this.wss.publish(ROOMS_TOPIC, encode({ v: 1, type: 'activity', room, seq: chat.seq }));
        }
        if (message.cid !== undefined) send(ws, { v: 1, type: 'ack', cid: message.cid, message: chat });
        return;
      }
      case 'typing': {
        const room = session.room;
        if (room === null) return void send(ws, errorMessage('not_in_room', 'join a room first'));
        const typing: ServerMessage = { v: 1, type: 'typing', room, from: { id: session.id, nick: session.nick }, typing: message.typing };
        this.wss.publish(roomTopic(room), encode(typing), { except: ws });
        return;
      }
      case 'nick': {
        session.nick = message.nick;
        send(ws, { v: 1, type: 'nick', nick: session.nick });
        if (session.room === null) return;
        const state = await this.store.presence([{ id: session.id, nick: session.nick, from: session.room, to: session.room }]);
        return this.publishPresence(state, false);
      }
      case 'rooms':
        return this.sendRooms(ws);
    }
  }

  private async join(ws: WebSocket, session: Session, room: string, nick: string, since: number | undefined): Promise<void> {
    const from = session.room;
    session.nick = nick;
    if (from !== null && from !== room) ws.unsubscribe(roomTopic(from));
    // Subscribe before reading history: a message published meanwhile is
    // delivered live and may also be in the history (the client drops the
    // second copy by its seq); subscribing after would lose it.
    ws.subscribe(roomTopic(room));
    session.room = room;
    const state = await this.store.presence([{ id: session.id, nick, from, to: room }]);
    const { seq, messages, gap } = await this.store.history(room, since);
    if (ws.readyState !== WebSocket.OPEN) return;
    send(ws, { v: 1, type: 'joined', room, nick, members: state.rooms.get(room) ?? [], version: state.version, seq, history: messages, gap });
    this.publishPresence(state, from !== room, { room, except: ws });
  }

  private async sendRooms(ws: WebSocket): Promise<void> {
    const state = await this.store.presence([]);
    send(ws, { v: 1, type: 'rooms', rooms: state.counts, version: state.version });
  }

  /** Publish the rooms' presence (and the room counts when they may have changed) to every node. */
  publishPresence(state: PresenceState, countsChanged: boolean, skip?: { room: string; except: WebSocket }): void {
    for (const [room, members] of state.rooms) {
      const message: ServerMessage = { v: 1, type: 'presence', room, members, version: state.version };
      this.wss.publish(roomTopic(room), encode(message), skip?.room === room ? { except: skip.except } : {});
    }
    if (countsChanged) this.wss.publish(ROOMS_TOPIC, encode({ v: 1, type: 'rooms', rooms: state.counts, version: state.version }));
  }
}

function send(ws: WebSocket, message: ServerMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(encode(message));
}
