// `hyperws bench <url>` as a child process against an echo server of ours
// (port 0, in this process), plus its option parsing and report format as
// functions. Counts and structure only: no throughput or latency asserted.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../src/index.js';
import { UsageError } from '../../src/cli/args.js';
import { benchOptions, describeConnectError, formatReport } from '../../src/cli/bench/bench-command.js';
import type { LoadResult } from '../../src/cli/bench/load-generator.js';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { closedPort, runCli } from './helpers.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';

const T = { timeout: 30_000 };

/** An echo server counting the messages it receives; closed in t.after. */
async function echoServer(t: TestContext): Promise<{ url: string; received: () => number; connections: () => number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await once(wss, 'listening');
  let received = 0;
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received++;
      ws.send(data, { binary: isBinary });
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, received: () => received, connections: () => connections };
}

const SUMMARY_KEYS = ['p50', 'p90', 'p99', 'p999', 'max', 'mean'];

describe('hyperws bench (process)', () => {
  it('--json: exits 0 and prints the results as one JSON document', T, async (t) => {
    const server = await echoServer(t);
    const { status, stdout, stderr } = await runCli(['bench', server.url, '-c', '5', '-d', '1', '--json']);
    assert.equal(status, 0, stderr);
    const result = JSON.parse(stdout) as LoadResult;
    assert.deepEqual(Object.keys(result).sort(), ['bytesPerSecond', 'connectError', 'connectUs', 'connections', 'deflate', 'durationMs', 'errors', 'extensions', 'latencyUs', 'messagesPerSecond', 'received', 'sent'].sort());
    assert.deepEqual(result.connections, { requested: 5, opened: 5 });
    assert.equal(result.connectError, null);
    assert.deepEqual(result.deflate, { requested: false, accepted: false });
    assert.deepEqual(result.errors, {});
    assert.equal(result.extensions, '');
    assert.deepEqual(Object.keys(result.latencyUs), SUMMARY_KEYS);
    assert.deepEqual(Object.keys(result.connectUs), SUMMARY_KEYS);
    const { p50, p90, p99, p999, max } = result.latencyUs;
    assert.ok(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(result.latencyUs));
    assert.ok(result.received > 0);
    // Closed loop, pipeline 1 by default: one message per connection in flight at the end.
    assert.equal(result.sent, result.received + 5);
    assert.equal(server.connections(), 5);
    for (const key of ['sent', 'received', 'messagesPerSecond', 'bytesPerSecond', 'durationMs'] as const) {
      assert.ok(Number.isInteger(result[key]), key);
    }
  });

  it('text report: one line each for target, connections, duration, throughput, latency, connect, errors', T, async (t) => {
    const server = await echoServer(t);
    const { status, stdout, stderr } = await runCli(['bench', server.url, '-c', '3', '-d', '1', '-s', '100', '-p', '2']);
    assert.equal(status, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => line.split(/\s+/, 1)[0]),
      ['target', 'connections', 'duration', 'throughput', 'latency', 'connect', 'errors'],
    );
    assert.equal(lines[0], `target       ${server.url}  (closed loop, pipeline 2, 100-byte text messages)`);
    assert.equal(lines[1], 'connections  3/3 opened');
    assert.match(lines[2]!, /^duration     \d+\.\d\d s$/);
    const throughput = /^throughput   (\d+) msg\/s  \(\d+\.\d\d MB\/s of payload\), (\d+) echoes of (\d+) sent$/.exec(lines[3]!);
    assert.ok(throughput, lines[3]);
    assert.equal(Number(throughput[3]), Number(throughput[2]) + 3 * 2);
    assert.match(lines[4]!, /^latency      p50 \d+(\.\d)? (µs|ms)  p90 \S+ (µs|ms)  p99 \S+ (µs|ms)  p99\.9 \S+ (µs|ms)  max \S+ (µs|ms)$/);
    assert.match(lines[5]!, /^connect      p50 \S+ (µs|ms)  p99 \S+ (µs|ms)  max \S+ (µs|ms)$/);
    assert.equal(lines[6], 'errors       none');
  });

  it('usage errors exit 2 with one line on stderr: no URL, --rate with --pipeline, zero connections, a bad header, a header value with CR/LF', T, async () => {
    const cases: Array<[string[], string]> = [
      [['bench'], "hyperws bench: missing the URL to test (see 'hyperws bench --help')\n"],
      [['bench', 'ws://127.0.0.1:1/', '--rate', '100', '--pipeline', '4'], "hyperws bench: Options '--rate' and '--pipeline' cannot be used together (see 'hyperws bench --help')\n"],
      [['bench', 'ws://127.0.0.1:1/', '-c', '0'], "hyperws bench: Option '--connections' must be at least 1 (see 'hyperws bench --help')\n"],
      [['bench', 'ws://127.0.0.1:1/', '-H', 'no colon'], "hyperws bench: Option '--header' expects NAME:VALUE, got 'no colon' (see 'hyperws bench --help')\n"],
      // A CR/LF in a value would inject a header line into the request head.
      [['bench', 'ws://127.0.0.1:1/', '-H', 'X-A: 1\r\nX-Injected: 2'], "hyperws bench: Option '--header' expects NAME:VALUE, got 'X-A: 1\\r\\nX-Injected: 2' (see 'hyperws bench --help')\n"],
      [['bench', 'a', 'b'], "hyperws bench: expected one URL (see 'hyperws bench --help')\n"],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, k) => {
      assert.equal(r.status, 2, cases[k]![0].join(' '));
      assert.equal(r.stderr, cases[k]![1]);
      assert.equal(r.stdout, '');
    });
  });

  // --duration 3600 (an hour): a test that finishes at all shows the duration was not run.
  it('a closed port: one line naming the URL and ECONNREFUSED, exit 1 at once, no report (JSON: the result, duration 0)', T, async () => {
    const port = await closedPort();
    const url = `ws://127.0.0.1:${port}/`;
    const [json, text] = await Promise.all([
      runCli(['bench', url, '-c', '2', '-d', '3600', '--json']),
      runCli(['bench', `127.0.0.1:${port}`, '-c', '2', '-d', '3600']), // scheme added
    ]);
    const line = `hyperws bench: cannot connect to ${url}: ECONNREFUSED\n`;
    assert.deepEqual(text, { status: 1, stdout: '', stderr: line });
    assert.equal(json.status, 1);
    assert.equal(json.stderr, line);
    const result = JSON.parse(json.stdout) as LoadResult;
    assert.deepEqual(result.errors, { ECONNREFUSED: 2 });
    assert.deepEqual(result.connections, { requested: 2, opened: 0 });
    assert.equal(result.connectError?.kind, 'ECONNREFUSED');
    assert.match(result.connectError!.message, /ECONNREFUSED/);
    assert.deepEqual([result.sent, result.received, result.durationMs], [0, 0, 0]);
  });

  it('a server refusing the handshake with 403: the status line, exit 1 at once', T, async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => done(false, 403) });
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await once(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    assert.deepEqual(await runCli(['bench', url, '-c', '3', '-d', '3600']), {
      status: 1,
      stdout: '',
      stderr: `hyperws bench: cannot connect to ${url}: handshake refused: HTTP/1.1 403 Forbidden\n`,
    });
  });

  it('a DNS name that does not resolve: one line with ENOTFOUND (or EAI_AGAIN offline), exit 1 at once', T, async () => {
    const r = await runCli(['bench', 'ws://hyperws-test.invalid/', '-c', '1', '-d', '3600']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^hyperws bench: cannot connect to ws:\/\/hyperws-test\.invalid\/: (ENOTFOUND|EAI_AGAIN)\n$/);
  });

  it('a server that accepts and never answers: a timeout after --handshake-timeout; one that closes without answering: said so; exit 1 at once', T, async (t) => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = createNetServer((socket) => sockets.add(socket));
    const closing = createNetServer((socket) => socket.once('data', () => socket.end()));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
      closing.close();
    });
    silent.listen(0, '127.0.0.1');
    closing.listen(0, '127.0.0.1');
    await Promise.all([once(silent, 'listening'), once(closing, 'listening')]);
    const silentUrl = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    const closingUrl = `ws://127.0.0.1:${(closing.address() as AddressInfo).port}/`;
    const [timedOut, closed] = await Promise.all([
      runCli(['bench', silentUrl, '-c', '2', '-d', '3600', '--handshake-timeout', '200ms']),
      runCli(['bench', closingUrl, '-c', '2', '-d', '3600']),
    ]);
    assert.deepEqual(timedOut, { status: 1, stdout: '', stderr: `hyperws bench: cannot connect to ${silentUrl}: timeout: no handshake response within 200 ms\n` });
    assert.deepEqual(closed, { status: 1, stdout: '', stderr: `hyperws bench: cannot connect to ${closingUrl}: bad handshake: connection closed before the handshake response\n` });
  });

  const openssl = opensslPath();
  it('wss with an untrusted certificate: the TLS error and the --insecure hint, exit 1 at once; --insecure runs', { ...T, skip: skipReason(openssl) }, async (t) => {
    const { key, cert } = await createTestCertificate();
    const https = createHttpsServer({ key, cert });
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    t.after(async () => {
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      https.closeAllConnections();
      https.close();
      await once(https, 'close');
    });
    const url = `wss://127.0.0.1:${(https.address() as AddressInfo).port}/`;
    const [refused, insecure] = await Promise.all([runCli(['bench', url, '-c', '2', '-d', '3600']), runCli(['bench', url, '-c', '2', '-d', '1', '-k', '--json'])]);
    assert.equal(refused.status, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, new RegExp(`^hyperws bench: cannot connect to ${url.replace(/[./]/g, '\\$&')}: [A-Z_]+: [^\\n]+ \\(--insecure skips verification\\)\\n$`));
    assert.equal(insecure.status, 0, insecure.stderr);
    assert.deepEqual((JSON.parse(insecure.stdout) as LoadResult).connections, { requested: 2, opened: 2 });
  });

  it('some connections refused (maxConnections 2 of 4): says how many and why, runs with the others, exit 1', T, async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxConnections: 2 });
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    await once(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    const { status, stdout, stderr } = await runCli(['bench', url, '-c', '4', '-d', '1']);
    assert.equal(status, 1);
    const first = 'handshake refused: HTTP/1.1 503 Service Unavailable';
    assert.equal(stderr.split('\n')[0], `hyperws bench: 2 of 4 connections failed (first: ${first}); running with 2`);
    assert.match(stdout, new RegExp(`^connections  2/4 opened \\(first failure: ${first.replace(/[./]/g, '\\$&')}\\)$`, 'm'));
    assert.match(stdout, /^errors {7}HTTP 503: 2$/m);
    assert.match(stdout, /^throughput   \d+ msg\/s .*, [1-9]\d* echoes of \d+ sent$/m);
  });

  it('--deflate to a server without permessage-deflate: a notice on stderr, "requested, not accepted" in the report and the JSON', T, async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    await once(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    const [text, json] = await Promise.all([runCli(['bench', url, '-c', '2', '-d', '1', '--deflate']), runCli(['bench', url, '-c', '2', '-d', '1', '--deflate', '--json'])]);
    const notice = 'hyperws bench: --deflate: the server did not accept permessage-deflate; sending uncompressed messages';
    for (const r of [text, json]) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.split('\n')[0], notice);
    }
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines[2], 'deflate      requested, not accepted by the server');
    assert.equal(lines[0], `target       ${url}  (closed loop, pipeline 1, 32-byte text messages)`);
    const result = JSON.parse(json.stdout) as LoadResult;
    assert.deepEqual(result.deflate, { requested: true, accepted: false });
    assert.equal(result.extensions, '');
  });

  it('--deflate to a server with permessage-deflate: no notice, "requested, accepted"', T, async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    await once(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    const [text, json] = await Promise.all([runCli(['bench', url, '-c', '2', '-d', '1', '--deflate']), runCli(['bench', url, '-c', '2', '-d', '1', '--deflate', '--json'])]);
    assert.equal(text.status, 0, text.stderr);
    assert.doesNotMatch(text.stderr, /hyperws bench:/); // progress lines only
    assert.equal(text.stdout.trimEnd().split('\n')[2], 'deflate      requested, accepted');
    assert.equal(json.status, 0, json.stderr);
    const result = JSON.parse(json.stdout) as LoadResult;
    assert.deepEqual(result.deflate, { requested: true, accepted: true });
    assert.match(result.extensions, /^permessage-deflate/);
  });
});

describe('benchOptions', () => {
  it('defaults: 100 connections, 10 s, 32 bytes, pipeline 1, text, no deflate', () => {
    assert.deepEqual(benchOptions({}, ['ws://h:1/x']), {
      url: 'ws://h:1/x',
      connections: 100,
      durationMs: 10_000,
      size: 32,
      pipeline: 1,
      binary: false,
      deflate: false,
      insecure: false,
      headers: {},
    });
  });

  it('parses every option; adds ws:// to a bare host:port; headers split at the first colon', () => {
    const o = benchOptions(
      { connections: '7', duration: '2', size: '0', rate: '500', binary: true, deflate: true, insecure: true, subprotocol: 'chat', header: ['Authorization: Bearer a:b', 'X-A:1'] },
      ['example.com:9000/path'],
    );
    assert.deepEqual(o, {
      url: 'ws://example.com:9000/path',
      connections: 7,
      durationMs: 2000,
      size: 0,
      pipeline: 1,
      rate: 500,
      binary: true,
      deflate: true,
      insecure: true,
      headers: { Authorization: 'Bearer a:b', 'X-A': '1' },
      subprotocol: 'chat',
    });
  });

  it('--duration: a bare number is seconds, or a unit; --handshake-timeout: a duration (bare: ms)', () => {
    assert.equal(benchOptions({ duration: '2' }, ['ws://a/']).durationMs, 2000);
    assert.equal(benchOptions({ duration: '500ms' }, ['ws://a/']).durationMs, 500);
    assert.equal(benchOptions({ duration: '1.5s' }, ['ws://a/']).durationMs, 1500);
    assert.equal(benchOptions({ duration: '2m' }, ['ws://a/']).durationMs, 120_000);
    assert.equal(benchOptions({}, ['ws://a/']).handshakeTimeout, undefined, 'the load generator default (10 s)');
    assert.equal(benchOptions({ 'handshake-timeout': '250' }, ['ws://a/']).handshakeTimeout, 250);
    assert.equal(benchOptions({ 'handshake-timeout': '3s' }, ['ws://a/']).handshakeTimeout, 3000);
  });

  it('a header given twice (in any case) has its values joined with ", " under its first spelling', () => {
    assert.deepEqual(benchOptions({ header: ['X-A: 1', 'x-a: 2', 'X-B: 3'] }, ['ws://a/']).headers, { 'X-A': '1, 2', 'X-B': '3' });
  });

  it('throws UsageError for bad values', () => {
    const bad: Array<[Record<string, unknown>, string[]]> = [
      [{}, []],
      [{}, ['ws://a/', 'ws://b/']],
      [{ duration: '0' }, ['ws://a/']],
      [{ duration: '0ms' }, ['ws://a/']],
      [{ duration: '1h' }, ['ws://a/']],
      [{ 'handshake-timeout': 'soon' }, ['ws://a/']],
      [{ size: '-1' }, ['ws://a/']],
      [{ pipeline: '0' }, ['ws://a/']],
      [{ rate: '0' }, ['ws://a/']],
      [{ rate: '1', pipeline: '2' }, ['ws://a/']],
      [{ subprotocol: 'a b' }, ['ws://a/']],
      [{ header: [': x'] }, ['ws://a/']],
      [{ header: ['X-A: 1\r\nX-B: 2'] }, ['ws://a/']],
      [{ header: ['X-A: 1\nX-B: 2'] }, ['ws://a/']],
      [{ header: ['X-A: 1\0'] }, ['ws://a/']],
      [{}, ['ws://[bad/']],
    ];
    for (const [values, positionals] of bad) {
      assert.throws(() => benchOptions(values, positionals), UsageError, JSON.stringify([values, positionals]));
    }
  });
});

describe('describeConnectError', () => {
  it('an errno code alone; a refusal by its status line; a TLS verification failure with the --insecure hint (not with --insecure)', () => {
    assert.equal(describeConnectError({ kind: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, {}), 'ECONNREFUSED');
    assert.equal(describeConnectError({ kind: 'HTTP 403', message: 'handshake refused: HTTP/1.1 403 Forbidden' }, {}), 'handshake refused: HTTP/1.1 403 Forbidden');
    const tls = { kind: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' };
    assert.equal(describeConnectError(tls, {}), 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate (--insecure skips verification)');
    assert.equal(describeConnectError(tls, { insecure: true }), 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate');
    assert.equal(describeConnectError({ kind: 'bad handshake', message: 'invalid Sec-WebSocket-Accept' }, {}), 'bad handshake: invalid Sec-WebSocket-Accept');
  });

  it('the server asking for a client certificate is not a verification failure: no --insecure hint', () => {
    const alert = { kind: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'tlsv13 alert certificate required' };
    assert.equal(describeConnectError(alert, {}), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required');
  });
});

describe('formatReport', () => {
  const result: LoadResult = {
    durationMs: 2004,
    connections: { requested: 10, opened: 9 },
    sent: 1010,
    received: 1000,
    messagesPerSecond: 499,
    bytesPerSecond: 15_968,
    latencyUs: { p50: 120, p90: 9_999, p99: 10_000, p999: 25_432, max: 1_000_000, mean: 300 },
    connectUs: { p50: 800, p90: 900, p99: 950, p999: 990, max: 12_345, mean: 810 },
    errors: { 'HTTP 401': 1, ECONNRESET: 2 },
    extensions: 'permessage-deflate',
    connectError: { kind: 'HTTP 401', message: 'handshake refused: HTTP/1.1 401 Unauthorized' },
    deflate: { requested: true, accepted: true },
  };

  it('prints exact lines; times of 10 ms and more in ms with one decimal', () => {
    const text = formatReport({ url: 'wss://h/', connections: 10, durationMs: 2000, size: 32, rate: 500, binary: true }, result);
    assert.equal(
      text,
      [
        'target       wss://h/  (open loop, 500 msg/s, 32-byte binary messages, permessage-deflate)',
        'connections  9/10 opened (first failure: handshake refused: HTTP/1.1 401 Unauthorized)',
        'deflate      requested, accepted',
        'duration     2.00 s',
        'throughput   499 msg/s  (0.02 MB/s of payload), 1000 echoes of 1010 sent',
        'latency      p50 120 µs  p90 9999 µs  p99 10.0 ms  p99.9 25.4 ms  max 1000.0 ms',
        'connect      p50 800 µs  p99 950 µs  max 12.3 ms',
        'errors       HTTP 401: 1, ECONNRESET: 2',
        '',
      ].join('\n'),
    );
  });
});
