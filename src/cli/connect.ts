/**
 * `hyperws connect`: a wscat-like client. Interactive by default (each stdin
 * line is sent as a text message), or --execute (send, wait for replies,
 * close) or --echo (send every received message back).
 *
 * stdout carries only received messages, one `< ...` record each, so it
 * stays parseable; status (connected, closed, errors) goes to stderr. The
 * exit status is 0 when the connection closed normally (1000, 1001, 1005),
 * 1 otherwise or when it could not be opened, 2 for a bad command line.
 */
import { createInterface, type Interface } from 'node:readline';
import { clearLine, cursorTo } from 'node:readline';
import { DEFAULT_MAX_REDIRECTS, type ClientOptions } from '../node/client-connect.js';
import { isToken } from '../handshake/index.js';
import { BACKOFF_DEFAULTS } from '../reconnect/backoff.js';
import { QUEUE_DEFAULTS, QueueFullError } from '../reconnect/send-queue.js';
import { parseLine, SLASH_HELP } from './slash-commands.js';
import { loadCredentials, readFileOption } from './tls-files.js';
import { EXIT_FAILURE, UsageError, parseDuration, parseHeaders, parseInteger, printable, withWebSocketScheme, type CliIo } from './args.js';
import { plainLink, type Link, type LinkEvents } from './connect-link.js';
import { reconnectingLink, type ReconnectSettings } from './connect-reconnect.js';
import type { Command } from './main.js';

export interface ConnectOptions {
  url: string;
  headers: Record<string, string>;
  subprotocols: string[];
  origin: string | undefined;
  insecure: boolean;
  echo: boolean;
  execute: string[];
  /** With execute: longest wait for the replies, in ms. */
  wait: number;
  /** Offer permessage-deflate (default true, as browsers do: the server decides). */
  deflate: boolean;
  /** Longest wait for the server's handshake response, in ms; 0 waits forever. */
  handshakeTimeout: number;
  /** Follow 3xx redirects of the opening handshake (as curl -L and wscat -L). */
  location: boolean;
  /** A proxy URL, or 'env' for the environment's. */
  proxy: string | undefined;
  /** user:pass for HTTP Basic authentication of the handshake. */
  auth: string | undefined;
  /** TLS: PEM files (read at start) and the key's passphrase. */
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  passphrase: string | undefined;
  /** Open the WebSocket as an HTTP/2 stream (RFC 8441): true insists, 'auto' falls back to HTTP/1.1. */
  http2: boolean | 'auto';
  /** Send a ping this often (ms; 0: never); each pong is printed with its round-trip time. */
  pingInterval: number;
  /** --reconnect and its backoff; null: one connection, the session ends with it. */
  reconnect: ReconnectSettings | null;
}

export const DEFAULT_EXECUTE_WAIT = 2000;
/**
 * `connect`'s own default for its opening handshake (the library's client has
 * none, as ws): a person at a terminal wants an answer, not a hang.
 */
export const CONNECT_HANDSHAKE_TIMEOUT = 10_000;
/** Binary messages are previewed as hex, up to this many bytes. */
export const BINARY_PREVIEW_BYTES = 32;

export const connectCommand: Command = {
  summary: 'connect to a WebSocket server; send stdin lines, print messages',
  help: `Usage: hyperws connect <url> [options]

Connects to a WebSocket server (ws://, wss://; http(s):// is accepted, and
host:port alone means ws://host:port). Each line read from stdin is sent as
a text message; end of input (Ctrl-D) closes the connection with 1000.
Lines starting with '/' are commands: ${SLASH_HELP}.
Received messages are printed on stdout:
  < text                                 a text message
  < [binary N bytes] 00 01 02 ... 1f …   a binary one (first 32 bytes in hex)
Status lines ("connected to URL", "closed: CODE REASON") go to stderr.

Options:
  -H, --header K:V        add a request header (repeatable)
  -s, --subprotocol P     offer a subprotocol (repeatable)
  -o, --origin O          send an Origin header
  -k, --insecure          do not verify the server's TLS certificate
  -e, --echo              send every received message back (same type);
                          stdin is not read
  -x, --execute MSG       send MSG once connected (repeatable), wait for as many
                          replies as messages sent or --wait ms, then close
  -w, --wait TIME         with --execute, and when piped input ends: longest
                          wait for as many replies as messages sent before
                          closing (default ${DEFAULT_EXECUTE_WAIT}; 0 closes at once);
                          TIME is milliseconds, or with a unit: 500ms, 5s, 2m
  -L, --location          follow redirects of the opening handshake (up to ${DEFAULT_MAX_REDIRECTS})
  -t, --handshake-timeout TIME
                          give up when the opening handshake takes longer
                          (default ${CONNECT_HANDSHAKE_TIMEOUT}; 0 waits forever; with -L,
                          per request)
      --ping-interval TIME
                          send a ping this often and print each pong with
                          its round-trip time
      --proxy URL         connect through an HTTP CONNECT (http://, https://) or
                          SOCKS5 (socks5://) proxy, user:pass@ in the URL for its
                          credentials; 'env' reads https_proxy/http_proxy/
                          all_proxy/no_proxy
      --auth USER:PASS    HTTP Basic authentication for the handshake
      --ca FILE           trust the CA certificate(s) in this PEM file
      --cert FILE         client certificate (PEM), with --key
      --key FILE          client private key (PEM)
      --passphrase P      passphrase of --key
      --deflate           offer permessage-deflate (the default, as browsers do)
      --no-deflate        offer no compression
      --http2             open the WebSocket as an HTTP/2 stream (RFC 8441);
                          over ws:// cleartext h2 with prior knowledge; fails
                          when the server does not offer it
      --http2-auto        over wss://: HTTP/2 when the server offers it,
                          else the HTTP/1.1 upgrade
  -r, --reconnect         reconnect after a failed connect or a close the user
                          did not ask for (not after the server's 1000 or 1008,
                          nor a 4xx refusal other than 408/429); waits with
                          exponential backoff and full jitter, honours 1012,
                          1013 and a 503's Retry-After; lines typed meanwhile
                          are queued (up to ${QUEUE_DEFAULTS.maxQueuedMessages} messages, ${QUEUE_DEFAULTS.maxQueuedBytes / 1024 / 1024} MiB) and sent
                          in order once reconnected; /ping and /pong are not
      --reconnect-delay TIME
                          the first wait's cap (default ${BACKOFF_DEFAULTS.initialDelay / 1000}s); doubles per
                          failed attempt
      --reconnect-max-delay TIME
                          the largest cap (default ${BACKOFF_DEFAULTS.maxDelay / 1000}s)
      --reconnect-attempts N
                          give up (exit 1) after N failed attempts in a row
                          (default: never)
  -h, --help              show this help

Exit status: 0 when the connection closed with 1000, 1001 or 1005; 1 for any
other close code or when it could not connect; 2 for a bad command line.
With --reconnect: the last connection's close decides; 1 after giving up, or
for a refusal that is not retried; 0 when the user ended the session
between connections (/close, end of input), 1 for a signal then.`,
  options: {
    header: { type: 'string', short: 'H', multiple: true },
    subprotocol: { type: 'string', short: 's', multiple: true },
    origin: { type: 'string', short: 'o' },
    insecure: { type: 'boolean', short: 'k' },
    echo: { type: 'boolean', short: 'e' },
    execute: { type: 'string', short: 'x', multiple: true },
    wait: { type: 'string', short: 'w' },
    'handshake-timeout': { type: 'string', short: 't' },
    location: { type: 'boolean', short: 'L' },
    deflate: { type: 'boolean' },
    'no-deflate': { type: 'boolean' },
    proxy: { type: 'string' },
    auth: { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    passphrase: { type: 'string' },
    http2: { type: 'boolean' },
    'http2-auto': { type: 'boolean' },
    'ping-interval': { type: 'string' },
    reconnect: { type: 'boolean', short: 'r' },
    'reconnect-delay': { type: 'string' },
    'reconnect-max-delay': { type: 'string' },
    'reconnect-attempts': { type: 'string' },
  },
  allowPositionals: true,
  run: (values, positionals, io) => connect(connectOptions(values, positionals), io),
};

function connectOptions(values: Record<string, unknown>, positionals: string[]): ConnectOptions {
  const v = values as {
    header?: string[]; subprotocol?: string[]; origin?: string; insecure?: boolean; echo?: boolean; execute?: string[]; wait?: string;
    deflate?: boolean; 'no-deflate'?: boolean; 'handshake-timeout'?: string; location?: boolean;
    proxy?: string; auth?: string; ca?: string; cert?: string; key?: string; passphrase?: string; 'ping-interval'?: string;
    http2?: boolean; 'http2-auto'?: boolean;
    reconnect?: boolean; 'reconnect-delay'?: string; 'reconnect-max-delay'?: string; 'reconnect-attempts'?: string;
  };
  if (v.auth !== undefined && !v.auth.includes(':')) throw new UsageError("Option '--auth' expects USER:PASS");
  if (v.http2 && v['http2-auto']) throw new UsageError("Options '--http2' and '--http2-auto' cannot be used together");
  if (v.deflate && v['no-deflate']) throw new UsageError("Options '--deflate' and '--no-deflate' cannot be used together");
  if (positionals.length === 0) throw new UsageError('missing the URL to connect to');
  if (positionals.length > 1) throw new UsageError(`expected one URL, got ${positionals.length} arguments`);
  const execute = v.execute ?? [];
  if (v.echo && execute.length > 0) throw new UsageError("Options '--echo' and '--execute' cannot be used together");
  if (v.wait !== undefined && v.echo) throw new UsageError("Option '--wait' does not apply with '--echo'");
  for (const name of ['reconnect-delay', 'reconnect-max-delay', 'reconnect-attempts'] as const) {
    if (v[name] !== undefined && !v.reconnect) throw new UsageError(`Option '--${name}' only applies with '--reconnect'`);
  }
  const headers = parseHeaders(v.header ?? []);
  // The client certificate: read and checked (key matches, passphrase right) before connecting.
  const credentials = loadCredentials(v, false) as { cert?: Buffer; key?: Buffer } | undefined;
  for (const protocol of v.subprotocol ?? []) {
    if (!isToken(protocol)) throw new UsageError(`Option '--subprotocol' expects a token, got '${printable(protocol)}'`);
  }
  return {
    url: withWebSocketScheme(positionals[0]!),
    headers,
    subprotocols: v.subprotocol ?? [],
    origin: v.origin,
    insecure: v.insecure ?? false,
    echo: v.echo ?? false,
    execute,
    wait: v.wait === undefined ? DEFAULT_EXECUTE_WAIT : parseDuration('wait', v.wait),
    deflate: v['no-deflate'] !== true,
    location: v.location ?? false,
    http2: v['http2-auto'] ? 'auto' : v.http2 === true,
    handshakeTimeout: v['handshake-timeout'] === undefined ? CONNECT_HANDSHAKE_TIMEOUT : parseDuration('handshake-timeout', v['handshake-timeout']),
    pingInterval: v['ping-interval'] === undefined ? 0 : parseDuration('ping-interval', v['ping-interval']),
    proxy: v.proxy,
    auth: v.auth,
    ca: v.ca === undefined ? undefined : readFileOption('ca', v.ca),
    cert: credentials?.cert,
    key: credentials?.key,
    passphrase: v.passphrase,
    reconnect: v.reconnect ? reconnectSettings(v) : null,
  };
}

function reconnectSettings(v: { 'reconnect-delay'?: string; 'reconnect-max-delay'?: string; 'reconnect-attempts'?: string }): ReconnectSettings {
  const delay = v['reconnect-delay'] === undefined ? BACKOFF_DEFAULTS.initialDelay : parseDuration('reconnect-delay', v['reconnect-delay']);
  const maxDelay = v['reconnect-max-delay'] === undefined ? Math.max(delay, BACKOFF_DEFAULTS.maxDelay) : parseDuration('reconnect-max-delay', v['reconnect-max-delay']);
  if (maxDelay < delay) throw new UsageError("Option '--reconnect-max-delay' must be at least '--reconnect-delay'");
  const attempts = v['reconnect-attempts'] === undefined ? Infinity : parseInteger('reconnect-attempts', v['reconnect-attempts']);
  return { delay, maxDelay, attempts };
}

/** How a received message is printed (without the newline). */
/** '00'..'ff' by byte value. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

export function formatReceived(data: Buffer, isBinary: boolean): string {
  if (!isBinary) return `< ${data.toString('utf8')}`;
  const n = data.length;
  // A table lookup per byte: this runs for every binary message --echo receives.
  const shown = Math.min(n, BINARY_PREVIEW_BYTES);
  let preview = shown > 0 ? HEX_BYTE[data[0]!]! : '';
  for (let i = 1; i < shown; i++) preview += ` ${HEX_BYTE[data[i]!]!}`;
  return `< [binary ${n} byte${n === 1 ? '' : 's'}]${preview ? ` ${preview}` : ''}${n > BINARY_PREVIEW_BYTES ? ' …' : ''}`;
}

/** Open the connection and run the session; resolves with the exit status. */
export function connect(options: ConnectOptions, io: CliIo): Promise<number> {
  const clientOptions: ClientOptions = { headers: options.headers, perMessageDeflate: options.deflate };
  if (options.origin !== undefined) clientOptions.origin = options.origin;
  if (options.insecure) clientOptions.rejectUnauthorized = false;
  if (options.handshakeTimeout > 0) clientOptions.handshakeTimeout = options.handshakeTimeout;
  if (options.location) clientOptions.followRedirects = true;
  if (options.proxy !== undefined) clientOptions.proxy = options.proxy;
  if (options.auth !== undefined) clientOptions.auth = options.auth;
  if (options.ca !== undefined) clientOptions.ca = options.ca;
  if (options.cert !== undefined) clientOptions.cert = options.cert;
  if (options.key !== undefined) clientOptions.key = options.key;
  if (options.passphrase !== undefined) clientOptions.passphrase = options.passphrase;
  if (options.http2 !== false) clientOptions.http2 = options.http2;

  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((resolve) => (resolveExit = resolve));
  const interactiveTty = options.execute.length === 0 && !options.echo && io.stdin.isTTY === true && (io.stdout as { isTTY?: boolean }).isTTY === true;
  let rl: Interface | null = null;
  let opened = false;
  let finished = false;
  /** Closes the connection once `expected` replies came or --wait ran out (--execute, and piped input at its end). */
  let executeTimer: NodeJS.Timeout | null = null;
  let expected = options.execute.length;
  /** Data messages sent (or queued) from input lines. */
  let dataSent = 0;
  let pingTimer: NodeJS.Timeout | null = null;
  let pingCount = 0;
  /** Pings in flight, by payload: when each was sent (for the round-trip time). */
  const pings = new Map<string, bigint>();
  /** stdin ended while lines were queued: close once they went out. */
  let closeWhenOpen = false;

  /** Writes a line; at the terminal, above the prompt, which is redrawn with what was typed so far. */
  const writeLine = (stream: NodeJS.WritableStream, line: string) => {
    if (rl && interactiveTty) {
      clearLine(io.stdout as NodeJS.WritableStream, 0);
      cursorTo(io.stdout as NodeJS.WritableStream, 0);
      stream.write(`${line}\n`);
      rl.prompt(true);
    } else {
      stream.write(`${line}\n`);
    }
  };
  const status = (line: string) => writeLine(io.stderr, line);
  // Received messages: at a terminal, one line at a time above the prompt;
  // otherwise the lines of one tick leave in one write (a read carrying 32
  // messages is one write to stdout, not 32), and a stdout that does not
  // keep up pauses the socket instead of buffering without bound.
  let pendingOut = '';
  const flushOut = () => {
    const text = pendingOut;
    pendingOut = '';
    if (text === '') return;
    const socket = link.socket;
    if (!io.stdout.write(text) && socket !== null && !socket.isPaused) {
      socket.pause();
      io.stdout.once('drain', () => socket.resume());
    }
  };
  const print = (line: string) => {
    if (rl && interactiveTty) return writeLine(io.stdout, line);
    if (pendingOut === '') setImmediate(flushOut);
    pendingOut += `${line}\n`;
  };

  const finish = (code: number, lastLine?: string) => {
    if (finished) return;
    finished = true;
    flushOut();
    if (executeTimer !== null) clearTimeout(executeTimer);
    if (pingTimer !== null) clearInterval(pingTimer);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (rl) {
      const r = rl;
      rl = null;
      if (interactiveTty) {
        clearLine(io.stdout as NodeJS.WritableStream, 0);
        cursorTo(io.stdout as NodeJS.WritableStream, 0);
      }
      r.close();
    }
    if (lastLine !== undefined) io.stderr.write(`${lastLine}\n`);
    resolveExit(code);
  };

  // First signal (or Ctrl-C in the terminal): close handshake; second: drop.
  // Not connected (yet, or between reconnections): stop at once.
  let interrupted = false;
  const onSignal = () => {
    if (link.socket === null && !interrupted) {
      status('hyperws connect: interrupted');
      finish(EXIT_FAILURE);
      link.terminate();
      return;
    }
    if (interrupted) link.terminate();
    else link.close(1000);
    interrupted = true;
  };

  /** Reads stdin: from the first open, or with --reconnect from the start (lines queue until then). */
  const readInput = () => {
    rl = createInterface({
      input: io.stdin,
      ...(interactiveTty ? { output: io.stdout, prompt: '> ', terminal: true } : { terminal: false }),
      crlfDelay: Infinity,
    });
    rl.on('line', (line: string) => {
      if (link.socket !== null || link.reconnects) runLine(line);
      if (interactiveTty) rl?.prompt();
    });
    // End of input: the close frame follows every message sent, on the same socket.
    rl.on('close', () => {
      if (rl === null) return; // finish() closed it
      if (link.socket === null && link.reconnects && link.queued > 0) {
        closeWhenOpen = true;
        status(`hyperws connect: end of input: the ${link.queued} queued message${link.queued === 1 ? '' : 's'} go${link.queued === 1 ? 'es' : ''} out after reconnecting, then the connection closes (Ctrl-C drops them)`);
      } else if (link.socket !== null || link.reconnects) {
        closeAfterReplies();
      }
    });
    rl.on('SIGINT', onSignal);
    if (interactiveTty) rl.prompt();
  };

  /** A data message: sent, or queued while reconnecting (a clear line when the queue is full). */
  const sendData = (data: string | Buffer, binary: boolean) => {
    const wasOpen = link.socket !== null;
    try {
      link.send(data, binary);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      status(`hyperws connect: not sent (not connected, and the queue is full: ${error.message})`);
      return;
    }
    dataSent++;
    if (!wasOpen) status(`hyperws connect: not connected: queued (${link.queued} waiting)`);
  };
  /**
   * End of piped input: as with --execute, wait until as many messages came back as lines were
   * sent, or --wait, before closing (so a server's answers to the last lines are not cut off, as
   * websocat keeps reading after its input ends). A terminal's Ctrl-D, or --wait 0, closes at once.
   */
  const closeAfterReplies = () => {
    if (interactiveTty || options.wait === 0 || link.socket === null || received >= dataSent) return link.close(1000);
    expected = dataSent;
    executeTimer = setTimeout(() => {
      executeTimer = null;
      link.close(1000);
    }, options.wait);
  };
  const runLine = (line: string) => {
    const command = parseLine(line);
    const socket = link.socket;
    switch (command.kind) {
      case 'text':
        sendData(command.text, false);
        return;
      case 'binary':
        sendData(command.bytes, true);
        return;
      case 'close':
        link.close(command.code, command.reason);
        return;
      case 'invalid':
        status(`hyperws connect: ${command.message}`);
        return;
    }
    // Control frames are not queued: they mean something now or not at all.
    if (socket === null) {
      status(`hyperws connect: not connected: /${command.kind} not sent`);
    } else if (command.kind === 'ping') {
      pings.set(command.data, process.hrtime.bigint());
      socket.ping(command.data);
    } else {
      socket.pong(command.data);
    }
  };
  const onPong = (data: Buffer) => {
    const key = data.toString();
    const sent = pings.get(key);
    pings.delete(key);
    const rtt = sent === undefined ? '' : ` (round trip ${(Number(process.hrtime.bigint() - sent) / 1e6).toFixed(3)} ms)`;
    print(`< pong${key ? ` ${printable(key)}` : ''}${rtt}`);
  };

  let received = 0;
  const events: LinkEvents = {
    opened: (socket, line) => {
      const first = !opened;
      opened = true;
      socket.on('pong', onPong);
      status(line);
      if (closeWhenOpen) return link.close(1000);
      if (!first) return;
      if (options.pingInterval > 0) {
        pingTimer = setInterval(() => {
          const current = link.socket;
          if (current === null) return;
          const data = String(++pingCount);
          pings.set(data, process.hrtime.bigint());
          current.ping(data);
        }, options.pingInterval);
      }
      if (options.execute.length > 0) {
        for (const message of options.execute) link.send(message, false);
        executeTimer = setTimeout(() => {
          executeTimer = null;
          link.close(1000);
        }, options.wait);
        return;
      }
      if (!options.echo && rl === null) readInput();
    },
    message: (data, isBinary) => {
      if (options.echo && link.socket !== null) link.send(data, isBinary);
      print(formatReceived(data, isBinary));
      received++;
      if (executeTimer !== null && received >= expected) {
        clearTimeout(executeTimer);
        executeTimer = null;
        link.close(1000);
      }
    },
    status,
    ended: finish,
  };
  const link: Link = options.reconnect === null ? plainLink(options, clientOptions, events) : reconnectingLink(options, clientOptions, options.reconnect, events);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (link.reconnects && options.execute.length === 0 && !options.echo) readInput();
  return exit;
}
