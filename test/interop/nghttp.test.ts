// Interop with nghttp (Debian's nghttp2-client), an HTTP/2 client that does
// not share Node's code above nghttp2: run `nghttp -v` against our server
// (h2c with prior knowledge, and h2 over TLS with ALPN) and read its frame log.
// It checks our SETTINGS (RFC 8441 section 3: SETTINGS_ENABLE_CONNECT_PROTOCOL
// = 1; RFC 9113 6.5.2: SETTINGS_MAX_CONCURRENT_STREAMS) and what an Extended
// CONNECT sent by nghttp (-H ':method: CONNECT' -H ':protocol: websocket')
// gets. nghttp 1.52 appends `:protocol` after its own regular fields
// (accept, user-agent...): a request with a pseudo-header after a regular one
// is malformed (RFC 9113 8.3) and the server's nghttp2 must reset the stream
// with PROTOCOL_ERROR (RFC 9113 8.1.1); if a later nghttp orders the fields
// correctly, the exchange must give :status 200 and a WebSocket.
// Locally a missing nghttp skips these tests; under CI it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from '../../src/index.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { nghttpPath, opensslPath, requireDependency, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';

const nghttp = nghttpPath();
const T = { timeout: 60_000 };

interface NghttpRun {
  /** nghttp's stdout: the -v frame log. */
  log: string;
  code: number | null;
}

function runNghttp(args: string[]): Promise<NghttpRun> {
  const bin = requireDependency(nghttp).path;
  return new Promise((resolve) => {
    // -t bounds each request: nghttp waits for END_STREAM otherwise. A
    // safety net, not an assertion; the exit code is not asserted either
    // (nghttp exits 1 when a stream is reset).
    execFile(bin, ['-v', '-n', '-t', '5s', ...args], { timeout: 30_000 }, (err, stdout) => {
      const code = err ? ((err as { code?: number }).code ?? null) : 0;
      resolve({ log: stdout, code: typeof code === 'number' ? code : null });
    });
  });
}

async function start(options: Omit<ServerOptions, 'port'>): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return { wss, port: (wss.address() as AddressInfo).port };
}

function stop(wss: WebSocketServer): Promise<void> {
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** The SETTINGS nghttp received from us (the first non-ACK frame), name -> value. */
function receivedSettings(log: string): Map<string, number> {
  const m = /recv SETTINGS frame <length=\d+, flags=0x00, stream_id=0>\n\s+\(niv=\d+\)\n((?:\s+\[[A-Z_]+\(0x[0-9a-f]+\):\d+\]\n)*)/.exec(log);
  assert.ok(m, `no SETTINGS received in nghttp's log:\n${log}`);
  const out = new Map<string, number>();
  for (const [, name, value] of m[1]!.matchAll(/\[([A-Z_]+)\(0x[0-9a-f]+\):(\d+)\]/g)) out.set(name!, Number(value));
  return out;
}

/** The field names of the HEADERS nghttp sent to open its request, in order. */
function sentFieldNames(log: string): string[] {
  const m = /send HEADERS frame <[^>]*>\n((?:\s{10}.*\n)*)/.exec(log);
  assert.ok(m, `no HEADERS sent in nghttp's log:\n${log}`);
  return [...m[1]!.matchAll(/^\s{10}(:?[a-z0-9-]+): /gm)].map((x) => x[1]!);
}

const EXTENDED_CONNECT = ['-H', ':method: CONNECT', '-H', ':protocol: websocket', '-H', 'sec-websocket-version: 13'];

async function checkServer(scheme: 'http' | 'https', options: Omit<ServerOptions, 'port'>): Promise<void> {
  const { wss, port } = await start(options);
  const connections: string[] = [];
  wss.on('connection', (ws: WebSocket, req: { httpVersion: string }) => {
    connections.push(req.httpVersion);
    ws.close(1000);
  });
  try {
    const get = await runNghttp([`${scheme}://127.0.0.1:${port}/`]);
    const settings = receivedSettings(get.log);
    assert.equal(settings.get('SETTINGS_ENABLE_CONNECT_PROTOCOL'), 1, get.log);
    assert.equal(settings.get('SETTINGS_MAX_CONCURRENT_STREAMS'), 7, get.log);
    // A plain request on the WebSocket port: 426, as over HTTP/1.1.
    assert.match(get.log, /recv \(stream_id=\d+\) :status: 426\n/);

    const connect = await runNghttp([...EXTENDED_CONNECT, `${scheme}://127.0.0.1:${port}/chat`]);
    const names = sentFieldNames(connect.log);
    assert.ok(names.includes(':protocol'), connect.log);
    const firstRegular = names.findIndex((n) => !n.startsWith(':'));
    const malformed = firstRegular !== -1 && names.slice(firstRegular).some((n) => n.startsWith(':'));
    if (malformed) {
      assert.match(connect.log, /recv RST_STREAM frame <length=4, flags=0x00, stream_id=\d+>\n\s+\(error_code=PROTOCOL_ERROR\(0x01\)\)/);
      assert.doesNotMatch(connect.log, /:status: /);
      assert.deepEqual(connections, []);
    } else {
      assert.match(connect.log, /recv \(stream_id=\d+\) :status: 200\n/);
      assert.deepEqual(connections, ['2.0']);
    }
  } finally {
    await stop(wss);
  }
}

test('nghttp over h2c: our SETTINGS carry ENABLE_CONNECT_PROTOCOL=1 and MAX_CONCURRENT_STREAMS; its Extended CONNECT is answered by the rules', { ...T, skip: skipReason(nghttp) }, async () => {
  await checkServer('http', { http2: { maxConcurrentStreams: 7 } });
});

test('nghttp over TLS (ALPN h2): the same SETTINGS and answers', { ...T, skip: skipReason(nghttp, opensslPath()) }, async () => {
  const { key, cert } = await createTestCertificate();
  await checkServer('https', { http2: { key, cert, maxConcurrentStreams: 7 } });
});
