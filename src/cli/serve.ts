/**
 * `hyperws serve`: one port for the browser console page and the WebSocket
 * endpoint. Plain HTTP GET / returns the page (static/console.html);
 * WebSocket upgrades (on any path, or on --path only) are served in echo mode (each message back to
 * its sender, same type), broadcast mode (each message to every connected
 * client, sender included) or exec mode (a program per connection, the
 * WebSocket as its stdin and stdout: exec-bridge.ts).
 *
 * The port is the library's upgrade server (src/node/upgrade-server.ts), not
 * node:http: strict, bounded request heads, the console page answered with
 * Connection: close, and every connection dropped unless it upgrades within
 * --handshake-timeout. A connection then costs what the library's does.
 * With --cert/--key or --pfx it speaks TLS (wss://, https://), the deadline
 * covering the TLS handshake too.
 *
 * stdout carries exactly one line, the listening line, so scripts and tests
 * can parse the bound port; connection logs go to stderr, one line each.
 * SIGINT/SIGTERM close every client with 1001 and the listener, then resolve
 * with 0; a second signal terminates the clients that are still closing.
 *
 * With --http2 the port is the library's HTTP/2 endpoint instead
 * (src/node/http2-upgrade.ts): h2 and HTTP/1.1 over TLS (--cert/--key or --pfx), or
 * cleartext h2 with prior knowledge (--h2c); the same page, answers and
 * handshake timeout, and WebSockets as Extended CONNECT streams (RFC 8441).
 */
import { readFileSync } from 'node:fs';
import { isIPv4, type Server } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { RedisReadyTimeout, answerStatic, closeCodeFor, closeServers, listen, readyWithin, runUntilSignal, type StaticSite } from '../app-kit/index.js';
import { operationsAnswer } from '../node/websocket-server.js';
import { renderMetrics, type RefusalReason } from '../node/server-stats.js';
import { pathnameOf } from '../handshake/index.js';
import { createUpgradeServer, type UpgradeServer } from '../node/upgrade-server.js';
import { Http2Endpoint } from '../node/http2-upgrade.js';
import { DEFAULTS } from '../protocol/options.js';
import { WebSocket, WebSocketServer } from '../pubsub/topics.js';
import { redisAdapter, type RedisAdapter } from '../pubsub/redis-adapter.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, hostPort, parseDuration, parseInteger, printable, type CliIo } from './args.js';
import { staticFileUrl } from './location.js';
import { bridgeExec, KILL_GRACE, type ExecOptions } from './exec-bridge.js';
import { loadCredentials, type TlsCredentials } from './tls-files.js';
import type { Command } from './main.js';

export interface ServeOptions {
  port: number;
  host: string;
  mode: 'echo' | 'broadcast' | 'exec';
  /** Exec mode: the command run for each connection, and how its output becomes messages. */
  exec: ExecOptions | undefined;
  /** Largest message accepted, in bytes (0: no limit). */
  maxPayload: number | undefined;
  /** Pathname the WebSocket endpoint answers on. */
  /** Only upgrades to this pathname are accepted; undefined: any path. */
  path: string | undefined;
  /** Accept permessage-deflate. */
  deflate: boolean;
  /** Broadcast through this Redis: every serve process on it forms one broadcast group. */
  redis: string | undefined;
  /** Time a connection has to upgrade after connecting, in ms (0: no limit). */
  handshakeTimeout: number;
  /** Open WebSocket connections at once (0: no limit); more are answered 503. */
  maxConnections: number;
  /** Close connections with no traffic for this long, in ms (0: never). */
  idleTimeout: number;
  /** Answer /metrics, /healthz and /readyz (default: when bound to loopback). */
  operations: boolean;
  /** TLS (wss://, https://): a PEM certificate and key, or a PKCS#12 file, read and checked at start. */
  tls: TlsCredentials | undefined;
  /** HTTP/2 (RFC 8441) beside HTTP/1.1: over TLS ('tls', with `tls`), or cleartext h2 only ('h2c'). */
  http2: 'tls' | 'h2c' | undefined;
}

/** The topic every client subscribes to in broadcast mode. */
const BROADCAST_TOPIC = 'hyperws-serve:broadcast';
/** How long to wait for Redis when starting. */
const REDIS_READY_TIMEOUT = 10_000;

/** Echo mode stops reading from a client whose replies pile up beyond this. */
const ECHO_HIGH_WATER_MARK = 1024 * 1024;

export const serveCommand: Command = {
  summary: 'run a WebSocket echo/broadcast server with a browser console',
  help: `Usage: hyperws serve [options]

Runs an HTTP server with a WebSocket endpoint on the same port. Open the
console URL in a browser to connect, send and watch traffic.

Options:
  -p, --port N          port to listen on (default 8080; 0 picks a free port)
      --host HOST       address to bind (default 127.0.0.1; 0.0.0.0 for all)
      --echo            echo each message back to its sender, same type (default)
      --broadcast       send each message to every connected client,
                        the sender included
      --exec CMD        run CMD (with /bin/sh -c) for each connection, the
                        WebSocket as its stdin and stdout: each message a line
                        of its input (binary ones as bytes), each line of its
                        output a text message; its exit closes the WebSocket
                        (1000 for status 0, else 1011), the WebSocket's close
                        stops it (SIGTERM, SIGKILL after ${KILL_GRACE / 1000} s). Anyone who
                        can reach the port runs CMD: keep --host on loopback
      --binary          with --exec: no lines: each message is written as
                        it is, each chunk of output is a binary message
      --max-payload N   largest message accepted, in bytes (default 104857600;
                        0 for no limit); larger messages close with 1009
      --path PATH       accept upgrades on this pathname only (default: any path)
      --deflate         accept permessage-deflate (off by default: it costs CPU
                        on every message above 1 KiB)
      --redis URL       with --broadcast: broadcast through this Redis, so every
                        serve process connected to it forms one broadcast group
                        (needs the ioredis package)
      --handshake-timeout TIME
                        drop connections that have not upgraded this long
                        after connecting (the console page is answered and
                        its connection closed at once); milliseconds, or
                        with a unit: 500ms, 5s, 2m
                        (default ${DEFAULTS.handshakeTimeout}; 0: no limit)
      --max-connections N
                        WebSocket connections open at once; more are answered
                        503 with Retry-After (default 0: no limit)
      --idle-timeout TIME
                        close a connection with no traffic either way for this
                        long, with 1001; as --handshake-timeout (default 0: never)
      --metrics         answer GET /metrics (Prometheus text), /healthz and
                        /readyz (default when bound to loopback)
      --no-metrics      do not answer them
      --cert FILE       serve over TLS (wss://, console at https://) with
                        this PEM certificate (chain), and --key
      --key FILE        its PEM private key
      --pfx FILE        TLS with a PKCS#12 file (certificate and key)
                        instead of --cert and --key
      --passphrase P    passphrase of --key or --pfx
      --http2           serve WebSockets over HTTP/2 too (RFC 8441), with
                        --cert and --key or --pfx (h2 and HTTP/1.1 over TLS)
                        or --h2c (cleartext h2 with prior knowledge only:
                        browsers do not speak it)
      --h2c             with --http2: cleartext, no TLS
  -h, --help            show this help

Prints one line on stdout when listening:
  hyperws serve: listening on ws://HOST:PORT/ (echo mode); console at http://HOST:PORT/
(wss:// and https:// with TLS).
Connections and disconnections are logged on stderr. SIGTERM closes every
client with 1012 (Service Restart: reconnect), SIGINT with 1001 (Going
Away); then it exits 0; a second signal
drops the clients that have not finished closing.`,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    echo: { type: 'boolean' },
    broadcast: { type: 'boolean' },
    exec: { type: 'string' },
    binary: { type: 'boolean' },
    'max-payload': { type: 'string' },
    path: { type: 'string' },
    deflate: { type: 'boolean' },
    redis: { type: 'string' },
    'handshake-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    'idle-timeout': { type: 'string' },
    metrics: { type: 'boolean' },
    'no-metrics': { type: 'boolean' },
    http2: { type: 'boolean' },
    cert: { type: 'string' },
    key: { type: 'string' },
    pfx: { type: 'string' },
    passphrase: { type: 'string' },
    h2c: { type: 'boolean' },
  },
  allowPositionals: false,
  run: (values, _positionals, io) => serve(serveOptions(values), io),
};

function serveOptions(values: Record<string, unknown>): ServeOptions {
  const v = values as {
    port?: string; host?: string; echo?: boolean; broadcast?: boolean; 'max-payload'?: string; path?: string; deflate?: boolean; redis?: string;
    'handshake-timeout'?: string; 'max-connections'?: string; 'idle-timeout'?: string; metrics?: boolean; 'no-metrics'?: boolean;
    http2?: boolean; cert?: string; key?: string; pfx?: string; passphrase?: string; h2c?: boolean; exec?: string; binary?: boolean;
  };
  if (v.metrics && v['no-metrics']) throw new UsageError("Options '--metrics' and '--no-metrics' cannot be used together");
  if (v.echo && v.broadcast) throw new UsageError("Options '--echo' and '--broadcast' cannot be used together");
  if (v.exec !== undefined && (v.echo || v.broadcast)) throw new UsageError(`Options '--exec' and '--${v.echo ? 'echo' : 'broadcast'}' cannot be used together`);
  if (v.exec !== undefined && v.exec.trim() === '') throw new UsageError("Option '--exec' must not be empty");
  if (v.binary && v.exec === undefined) throw new UsageError("Option '--binary' only applies with '--exec'");
  if (v.redis !== undefined && !v.broadcast) throw new UsageError("Option '--redis' only applies with '--broadcast'");
  if (v.redis !== undefined && !/^rediss?:\/\//.test(v.redis)) throw new UsageError(`Option '--redis' expects a redis:// URL, got '${printable(v.redis)}'`);
  const path = v.path;
  if (path !== undefined && !/^\/[\x21-\x7e]*$/.test(path)) throw new UsageError(`Option '--path' must start with '/' and contain no spaces, got '${printable(path)}'`);
  const host = v.host ?? '127.0.0.1';
  if (host === '') throw new UsageError("Option '--host' must not be empty");
  const http2 = http2Mode(v);
  return {
    port: v.port === undefined ? 8080 : parseInteger('port', v.port, 65535),
    host,
    mode: v.exec !== undefined ? 'exec' : v.broadcast ? 'broadcast' : 'echo',
    exec: v.exec === undefined ? undefined : { command: v.exec, binary: v.binary === true },
    maxPayload: v['max-payload'] === undefined ? undefined : parseInteger('max-payload', v['max-payload']),
    path,
    deflate: v.deflate === true,
    redis: v.redis,
    handshakeTimeout: v['handshake-timeout'] === undefined
      ? DEFAULTS.handshakeTimeout
      : parseDuration('handshake-timeout', v['handshake-timeout']),
    maxConnections: v['max-connections'] === undefined ? DEFAULTS.maxConnections : parseInteger('max-connections', v['max-connections']),
    idleTimeout: v['idle-timeout'] === undefined ? DEFAULTS.idleTimeout : parseDuration('idle-timeout', v['idle-timeout']),
    operations: v.metrics === true || (v['no-metrics'] !== true && isLoopback(host)),
    http2,
    // Read last: the files are only opened for a command line that is otherwise right.
    tls: loadCredentials(v),
  };
}

/** --http2 with TLS (--cert/--key or --pfx) or --h2c; checked before any file is read. */
function http2Mode(v: { http2?: boolean; cert?: string; key?: string; pfx?: string; h2c?: boolean }): ServeOptions['http2'] {
  const tls = v.cert !== undefined || v.key !== undefined || v.pfx !== undefined;
  if (!v.http2) {
    if (v.h2c) throw new UsageError("Option '--h2c' only applies with '--http2'");
    return undefined;
  }
  if (v.h2c) {
    if (tls) throw new UsageError(`Option '--h2c' cannot be used with '${v.pfx !== undefined ? '--pfx' : v.cert !== undefined ? '--cert' : '--key'}'`);
    return 'h2c';
  }
  if (!tls) throw new UsageError("Option '--http2' needs '--cert' and '--key' or '--pfx' (or '--h2c' for cleartext)");
  return 'tls';
}

/** Addresses only this machine reaches (127.0.0.0/8, ::1, localhost): metrics are served there by default, --exec runs without a warning. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

/** The console page, with the endpoint's path filled in. */
function consolePage(wsPath: string): Buffer {
  const file = staticFileUrl('console.html');
  let html: string;
  try {
    html = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the console page (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); rebuild with npm run build`);
  }
  const escaped = wsPath.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return Buffer.from(html.replace('{{WS_PATH}}', escaped), 'utf8');
}

/** A connection of serve's: its number and the error that ended it, for the log lines. */
class ServeSocket extends WebSocket {
  id = 0;
  failure: Error | null = null;
}

function resumeSelf(this: WebSocket): void {
  this.resume();
}

/** Run the server until SIGINT/SIGTERM; resolves with the exit status. */
export async function serve(options: ServeOptions, io: CliIo): Promise<number> {
  const page = consolePage(options.path ?? '/');
  const log = (line: string) => io.stderr.write(`hyperws serve: ${line}\n`);

  const site: StaticSite = {
    files: new Map([['/', { body: page, type: 'text/html; charset=utf-8' }]]),
    headers: {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ws: wss:",
    },
    endpoint: { path: options.path ?? '/', message: 'Upgrade Required: this is a WebSocket endpoint\n' },
  };
  let adapter: RedisAdapter | undefined;
  if (options.redis !== undefined) {
    adapter = redisAdapter({ url: options.redis, onError: () => {} });
    try {
      await readyWithin(adapter, REDIS_READY_TIMEOUT);
    } catch (error) {
      const why = error instanceof RedisReadyTimeout ? 'no answer' : (error as Error).message;
      io.stderr.write(`hyperws serve: cannot connect to Redis at ${options.redis}: ${printable(why)}\n`);
      return EXIT_FAILURE;
    }
  }
  const wss = new WebSocketServer({
    noServer: true,
    WebSocket: ServeSocket,
    ...(options.path !== undefined ? { path: options.path } : {}),
    perMessageDeflate: options.deflate,
    ...(adapter !== undefined ? { adapter } : {}),
    ...(options.maxPayload !== undefined ? { maxPayload: options.maxPayload } : {}),
    maxConnections: options.maxConnections,
    idleTimeout: options.idleTimeout,
  });
  const hooks = {
    handshakeTimeout: options.handshakeTimeout,
    maxPending: DEFAULTS.maxPendingHandshakes,
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
    request: (req: IncomingMessage) => (options.operations && operationsOf(req)) || answerStatic(site, req.method, req.url),
    refused: (why: RefusalReason) => refusedHere.set(why, (refusedHere.get(why) ?? 0) + 1),
  };
  const endpoint = options.http2 === undefined ? null : new Http2Endpoint(options.http2 === 'h2c' ? {} : { ...options.tls }, {
    ...hooks,
    request: (req) => hooks.request(req as IncomingMessage),
    stream: (stream, headers, req) => wss.handleStream(stream, headers, (ws, r) => wss.emit('connection', ws, r), req),
  });
  const server: Server = endpoint?.server ?? createUpgradeServer({
    ...hooks,
    maxHeadBytes: DEFAULTS.maxHeaderSize,
    maxFields: DEFAULTS.maxHeaderFields,
    ...(options.tls !== undefined ? { secureContext: createSecureContext(options.tls) } : {}),
  });
  // The server's numbers, with the refusals of our upgrade server (a bad head, too many handshakes).
  const refusedHere = new Map<RefusalReason, number>();
  const operations = {
    metrics: () => {
      const stats = wss.stats();
      for (const [why, n] of refusedHere) stats.handshakes.refused[why] = (stats.handshakes.refused[why] ?? 0) + n;
      return renderMetrics(stats);
    },
    isReady: () => wss.isReady() && server.listening,
  };
  const operationsOf = (req: IncomingMessage) => (req.method === 'GET' || req.method === 'HEAD' ? operationsAnswer(pathnameOf(req.url ?? '/'), operations) : null);

  let port: number;
  try {
    ({ port } = await listen(server, options.port, options.host));
  } catch (error) {
    wss.close();
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    io.stderr.write(`hyperws serve: cannot listen on ${hostPort(options.host, options.port)}: ${code}\n`);
    return EXIT_FAILURE;
  }
  server.on('error', (error) => log(`server error: ${printable(error.message)}`));

  // Listeners shared by every connection (one function each, not three
  // closures per connection): a serve process may hold many idle clients.
  let nextId = 1;
  function onError(this: ServeSocket, error: Error): void {
    this.failure = error;
  }
  function onClose(this: ServeSocket, code: number, reason: Buffer): void {
    const why = reason.length > 0 ? ` ${printable(reason.toString())}` : '';
    const error = this.failure ? ` (error: ${printable(this.failure.message)})` : '';
    log(`connection #${this.id} closed: ${code}${why}${error} (${wss.clients.size} connected)`);
  }
  function onEcho(this: ServeSocket, data: Buffer, isBinary: boolean): void {
    this.send(data, { binary: isBinary });
    // A client that sends without reading must not grow our memory without bound.
    if (this.bufferedAmount > ECHO_HIGH_WATER_MARK && !this.isPaused) {
      this.pause();
      this.once('drain', resumeSelf);
    }
  }
  function onBroadcast(this: ServeSocket, data: Buffer, isBinary: boolean): void {
    // Topics: encoded once for every client, and through Redis to every other node.
    wss.publish(BROADCAST_TOPIC, data, { binary: isBinary, compress: options.deflate });
  }
  // Exec mode: the programs still running, awaited at shutdown so that none outlives serve.
  const programs = new Set<Promise<void>>();
  wss.on('connection', (ws: ServeSocket, req: IncomingMessage) => {
    ws.id = nextId++;
    const over = req.httpVersion === '2.0' ? ' over HTTP/2' : '';
    log(`connection #${ws.id} from ${hostPort(req.socket.remoteAddress ?? '?', req.socket.remotePort ?? 0)}${over} (${wss.clients.size} connected)`);
    ws.on('error', onError);
    ws.on('close', onClose);
    if (options.mode === 'echo') {
      ws.on('message', onEcho);
    } else if (options.exec !== undefined) {
      const id = ws.id;
      const program = bridgeExec(ws, options.exec, (line) => log(`connection #${id}: ${line}`)).then(() => {
        programs.delete(program);
      });
      programs.add(program);
    } else {
      ws.subscribe(BROADCAST_TOPIC);
      ws.on('message', onBroadcast);
    }
  });

  const where = hostPort(options.host, port);
  const mode = options.redis !== undefined ? `${options.mode} mode via ${options.redis}` : `${options.mode} mode`;
  const tls = options.tls !== undefined;
  const transport = options.http2 === undefined ? '' : tls ? ', HTTP/2 and HTTP/1.1' : ', HTTP/2 h2c only';
  if (options.exec !== undefined && !isLoopback(options.host)) {
    log(`warning: --exec on ${options.host}: anyone who can reach port ${port} runs '${printable(options.exec.command)}' (bind --host 127.0.0.1 to keep it to this machine)`);
  }

  // Kept for a second signal: the clients that were open when closing began.
  let clients: Array<{ terminate(): void }> = [];
  // Signals are handled before the listening line goes out: a script that stops serve as soon as
  // it reads the line must not find the default action (death by the signal) still in place.
  const stopped = runUntilSignal({
    close(signal) {
      clients = [...wss.clients].filter((ws) => ws.readyState !== WebSocket.CLOSED);
      log(`${signal}: closing ${clients.length} connection${clients.length === 1 ? '' : 's'}`);
      // SIGTERM is a restart (1012: clients reconnect), SIGINT an operator stopping it (1001); the server is ours to close.
      // Exec mode: each closed WebSocket stops its program; wait for them all.
      return closeServers(wss, endpoint ?? (server as UpgradeServer), closeCodeFor(signal)).then(async () => {
        while (programs.size > 0) await Promise.all(programs);
      });
    },
    force() {
      log('second signal: dropping the remaining connections');
      for (const ws of clients) ws.terminate();
    },
  });
  io.stdout.write(`hyperws serve: listening on ${tls ? 'wss' : 'ws'}://${where}${options.path ?? '/'} (${mode}${transport}); console at ${tls ? 'https' : 'http'}://${where}/\n`);
  // Browsers speak HTTP/2 only over TLS: the console page (and a browser's WebSocket) cannot reach an h2c-only port.
  if (options.http2 !== undefined && !tls) log('note: browsers do not speak cleartext HTTP/2 (h2c): the console page needs --cert/--key (or --pfx) instead of --h2c');
  await stopped;
  return EXIT_OK;
}
