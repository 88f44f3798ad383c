import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { opensslPath, pythonWebsockets, requireDependency, skipReason } from '../support/system.js';
import { runPythonClient, startPythonEchoServer } from '../support/python.js';
import { createTestCertificate } from '../support/tls.js';

const py = pythonWebsockets();
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('python echo server + python client: echo-check round trip', { skip: skipReason(py), timeout: 60_000 }, async () => {
  const { version } = requireDependency(py);
  const server = await startPythonEchoServer();
  try {
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.version, version);
    const r = await runPythonClient(server.url, 'echo-check');
    assert.equal(r.error, null, r.stderr);
    assert.equal(r.ok, true);
    assert.equal(r.websocketsVersion, version);
    const big = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));
    assert.deepEqual(r.messages, [
      { type: 'text', length: 5, sha256: sha(Buffer.from('hello')), equal: true },
      { type: 'binary', length: 256, sha256: sha(Buffer.from(Array.from({ length: 256 }, (_, i) => i))), equal: true },
      { type: 'text', length: big.length, sha256: sha(big), equal: true },
    ]);
    assert.deepEqual(r.close, { code: 4000, reason: 'done' });
    assert.match(r.extensions ?? '', /^permessage-deflate/);
    assert.equal(r.subprotocol, null);
  } finally {
    await server.close();
  }
});

test('python echo server: close probe, compression off, subprotocols', { skip: skipReason(py), timeout: 60_000 }, async () => {
  const server = await startPythonEchoServer({ compression: false, subprotocols: ['chat.v2', 'chat.v1'] });
  try {
    const probe = await runPythonClient(server.url, 'close-probe');
    assert.equal(probe.error, null, probe.stderr);
    assert.deepEqual(probe.close, { code: 4001, reason: 'bye' });
    assert.equal(probe.extensions, null, 'server compression=None');
    const sp = await runPythonClient(server.url, 'connect-only', { subprotocols: ['chat.v1'], compression: null });
    assert.equal(sp.ok, true, sp.stderr);
    assert.equal(sp.subprotocol, 'chat.v1');
    assert.equal(sp.extensions, null);
  } finally {
    await server.close();
  }
});

test('python client reports a failed connection instead of hanging', { skip: skipReason(py), timeout: 60_000 }, async () => {
  const server = await startPythonEchoServer();
  const { url } = server;
  await server.close();
  await server.close(); // idempotent
  const r = await runPythonClient(url, 'connect-only');
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /refused|Errno|connect/i);
});

const openssl = opensslPath();
test('python wss: echo server with test certificate, client trusting the CA', { skip: skipReason(py, openssl), timeout: 60_000 }, async () => {
  const { key, cert, ca } = await createTestCertificate();
  const server = await startPythonEchoServer({ tls: { key, cert } });
  try {
    assert.match(server.url, /^wss:\/\/localhost:\d+$/);
    const ok = await runPythonClient(server.url, 'echo-check', { ca });
    assert.equal(ok.error, null, ok.stderr);
    assert.equal(ok.ok, true);
    const untrusted = await runPythonClient(server.url, 'connect-only');
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.error ?? '', /CERTIFICATE_VERIFY_FAILED|certificate/i);
  } finally {
    await server.close();
  }
});
