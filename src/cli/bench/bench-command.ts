/**
 * `hyperws bench <url>`: a load tester for any WebSocket server, on top of
 * ./load-generator.ts. Prints a live progress line on stderr and a report
 * (throughput, latency percentiles from a histogram, connect times, errors
 * by kind) on stdout, or JSON with --json.
 */
import { isToken } from '../../handshake/index.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, parseDuration, parseHeaders, parseInteger, printable, withWebSocketScheme, type CliIo } from '../args.js';
import type { Command } from '../main.js';
import { insecureWouldHelp } from '../tls-files.js';
import { runLoad, type LoadOptions, type LoadResult } from './load-generator.js';

export const benchCommand: Command = {
  summary: 'load-test a WebSocket server: throughput and latency percentiles',
  help: `Usage: hyperws bench <url> [options]

Opens --connections connections, then for --duration sends messages of --size
bytes and counts the server's echoes. Closed loop by default (--pipeline
messages in flight per connection); with --rate, open loop at that many
messages per second in total, latency measured from the intended send time.

Options:
  -c, --connections N   connections (default 100)
  -d, --duration T      how long to run after connecting: seconds, or with a
                        unit (500ms, 30s, 2m) (default 10)
  -s, --size N          payload bytes per message (default 32)
  -r, --rate N          open loop: messages per second over all connections
  -p, --pipeline N      closed loop: messages in flight per connection (default 1)
  -b, --binary          send binary messages (default text)
      --deflate         offer permessage-deflate; send compressed frames if accepted
                        (a notice on stderr and in the report when it is not)
      --subprotocol P   offer a subprotocol
  -H, --header K:V      add a request header (repeatable)
  -k, --insecure        do not verify the server's TLS certificate
      --handshake-timeout T
                        a connection not upgraded within T fails (timeout):
                        milliseconds, or with a unit (default 10s; 0: no limit)
      --json            print the results as JSON on stdout
  -h, --help            show this help

When no connection opens (refused, DNS, TLS, a handshake refused with a
status), it stops at once: one line naming the URL and the error, exit 1.
When some fail, it says how many and the first error, and runs with the
others (the report counts them; exit 1).

Exit status: 0 when every connection opened and no error occurred, 1 otherwise.`,
  options: {
    connections: { type: 'string', short: 'c' },
    duration: { type: 'string', short: 'd' },
    size: { type: 'string', short: 's' },
    rate: { type: 'string', short: 'r' },
    pipeline: { type: 'string', short: 'p' },
    binary: { type: 'boolean', short: 'b' },
    deflate: { type: 'boolean' },
    subprotocol: { type: 'string' },
    header: { type: 'string', short: 'H', multiple: true },
    insecure: { type: 'boolean', short: 'k' },
    'handshake-timeout': { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  run: (values, positionals, io) => bench(benchOptions(values, positionals), values.json === true, io),
};

export function benchOptions(values: Record<string, unknown>, positionals: string[]): LoadOptions {
  const v = values as Record<string, string | string[] | boolean | undefined>;
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the URL to test' : 'expected one URL');
  const url = withWebSocketScheme(positionals[0]!);
  try {
    new URL(url);
  } catch {
    throw new UsageError(`invalid URL '${printable(url)}'`);
  }
  const int = (name: string, fallback: number, min = 0) => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const n = parseInteger(name, raw as string);
    if (n < min) throw new UsageError(`Option '--${name}' must be at least ${min}`);
    return n;
  };
  if (v.rate !== undefined && v.pipeline !== undefined) throw new UsageError("Options '--rate' and '--pipeline' cannot be used together");
  const headers = parseHeaders((v.header as string[] | undefined) ?? []);
  const subprotocol = v.subprotocol as string | undefined;
  if (subprotocol !== undefined && !isToken(subprotocol)) throw new UsageError(`Option '--subprotocol' expects a token`);
  const options: LoadOptions = {
    url,
    connections: int('connections', 100, 1),
    durationMs: benchDuration(v.duration as string | undefined),
    size: int('size', 32),
    pipeline: int('pipeline', 1, 1),
    binary: v.binary === true,
    deflate: v.deflate === true,
    insecure: v.insecure === true,
    headers,
  };
  if (v.rate !== undefined) options.rate = int('rate', 0, 1);
  if (v['handshake-timeout'] !== undefined) options.handshakeTimeout = parseDuration('handshake-timeout', v['handshake-timeout'] as string);
  if (subprotocol !== undefined) options.subprotocol = subprotocol;
  return options;
}

/** --duration: a bare number is seconds (as wrk and autocannon take it), or a duration with a unit. */
function benchDuration(raw: string | undefined): number {
  if (raw === undefined) return 10_000;
  const ms = /^\d+$/.test(raw) ? parseInteger('duration', raw, 2 ** 31 / 1000) * 1000 : parseDuration('duration', raw);
  if (ms < 1) throw new UsageError(`Option '--duration' must be at least 1ms`);
  return ms;
}

async function bench(options: LoadOptions, json: boolean, io: CliIo): Promise<number> {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const result = await runLoad({
    ...options,
    // Said before the run, not after it: the user may prefer to stop there.
    onConnected: (r) => {
      const failed = r.connections.requested - r.connections.opened;
      if (r.connectError !== null) {
        io.stderr.write(`hyperws bench: ${failed} of ${r.connections.requested} connections failed (first: ${describeConnectError(r.connectError, options)}); running with ${r.connections.opened}\n`);
      }
      if (r.deflate.requested && !r.deflate.accepted) io.stderr.write(`hyperws bench: ${DEFLATE_NOT_ACCEPTED}; sending uncompressed messages\n`);
    },
    onProgress: (p) => {
      const line = `${(p.elapsedMs / 1000).toFixed(0)}s  ${Math.round((p.received / p.elapsedMs) * 1000)} msg/s  ${p.received} received  ${p.open} open  ${p.errors} errors`;
      io.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
  });
  if (result.connections.opened === 0) {
    // Nothing ran: a report of zeros would only hide this line. JSON still gets its document.
    io.stderr.write(`hyperws bench: cannot connect to ${new URL(options.url).href}: ${describeConnectError(result.connectError!, options)}\n`);
    if (json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT_FAILURE;
  }
  if (tty) io.stderr.write('\n');
  io.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(options, result));
  const failed = result.connections.opened < result.connections.requested || Object.keys(result.errors).length > 0;
  return failed ? EXIT_FAILURE : EXIT_OK;
}

const DEFLATE_NOT_ACCEPTED = '--deflate: the server did not accept permessage-deflate';

/** "ECONNREFUSED", "handshake refused: HTTP/1.1 403 Forbidden", "CODE: message". */
export function describeConnectError(error: { kind: string; message: string }, options: Pick<LoadOptions, 'insecure'>): string {
  if (error.kind.startsWith('HTTP ')) return error.message;
  if (/^E[A-Z0-9_]+$/.test(error.kind) && error.message.includes(error.kind)) return error.kind;
  const hint = insecureWouldHelp(error.kind) && !options.insecure ? ' (--insecure skips verification)' : '';
  return `${error.kind}: ${error.message}${hint}`;
}

const us = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} ms` : `${n} µs`);

export function formatReport(options: LoadOptions, r: LoadResult): string {
  const mode = options.rate ? `open loop, ${options.rate} msg/s` : `closed loop, pipeline ${options.pipeline ?? 1}`;
  const lines = [
    `target       ${options.url}  (${mode}, ${options.size}-byte ${options.binary ? 'binary' : 'text'} messages${r.extensions ? `, ${r.extensions}` : ''})`,
    `connections  ${r.connections.opened}/${r.connections.requested} opened${r.connectError ? ` (first failure: ${describeConnectError(r.connectError, options)})` : ''}`,
    ...(r.deflate.requested ? [`deflate      requested, ${r.deflate.accepted ? 'accepted' : 'not accepted by the server'}`] : []),
    `duration     ${(r.durationMs / 1000).toFixed(2)} s`,
    `throughput   ${r.messagesPerSecond} msg/s  (${(r.bytesPerSecond / 1e6).toFixed(2)} MB/s of payload), ${r.received} echoes of ${r.sent} sent`,
    `latency      p50 ${us(r.latencyUs.p50)}  p90 ${us(r.latencyUs.p90)}  p99 ${us(r.latencyUs.p99)}  p99.9 ${us(r.latencyUs.p999)}  max ${us(r.latencyUs.max)}`,
    `connect      p50 ${us(r.connectUs.p50)}  p99 ${us(r.connectUs.p99)}  max ${us(r.connectUs.max)}`,
    `errors       ${Object.keys(r.errors).length === 0 ? 'none' : Object.entries(r.errors).map(([k, n]) => `${k}: ${n}`).join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}
