// wss:// end to end: our server on an https.Server with a certificate made at
// test time, our client trusting it via `ca`, not trusting it, or not checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpsServer } from 'node:https';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate, createUntrustedCertificate } from '../support/tls.js';
import { WebSocket, WebSocketServer, type VerifyClientInfo } from '../../src/index.js';
import { closeHttpServer, closeServer, closed, errorThenClose, listen, nextMessage, opened } from './helpers.js';

const openssl = opensslPath();
const T = { timeout: 30_000, skip: skipReason(openssl) };

/** An https server (any local address, so 'localhost' works over IPv4 or IPv6) with an echo WebSocketServer. */
async function startWss(key: string, cert: string): Promise<{ https: HttpsServer; wss: WebSocketServer; port: number; secure: boolean[] }> {
  const https = createServer({ key, cert });
  const secure: boolean[] = [];
  const wss = new WebSocketServer({ server: https, verifyClient: (info: VerifyClientInfo) => (secure.push(info.secure), true) });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  const port = await listen(https);
  return { https, wss, port, secure };
}

async function stopWss(s: { https: HttpsServer; wss: WebSocketServer }): Promise<void> {
  await closeServer(s.wss);
  await closeHttpServer(s.https);
}

test('wss:// with the test CA: text and binary round trips', T, async () => {
  const { key, cert, ca } = await createTestCertificate();
  const s = await startWss(key, cert);
  try {
    const client = new WebSocket(`wss://localhost:${s.port}/secure`, { ca });
    await opened(client);
    assert.equal(client.url, `wss://localhost:${s.port}/secure`);
    client.send('secret text');
    const [text, textIsBinary] = await nextMessage(client);
    assert.equal(String(text), 'secret text');
    assert.equal(textIsBinary, false);
    const bytes = Buffer.from([0, 255, 1, 254, 2, 253]);
    client.send(bytes);
    const [bin, binIsBinary] = await nextMessage(client);
    assert.deepEqual(bin, bytes);
    assert.equal(binIsBinary, true);
    assert.deepEqual(s.secure, [true], 'verifyClient saw an encrypted connection');
    const done = closed(client);
    client.close(1000, 'bye');
    assert.equal((await done).code, 1000);
  } finally {
    await stopWss(s);
  }
});

test('rejectUnauthorized: false connects without the CA', T, async () => {
  const { key, cert } = await createTestCertificate();
  const s = await startWss(key, cert);
  try {
    const client = new WebSocket(`wss://localhost:${s.port}`, { rejectUnauthorized: false });
    await opened(client);
    client.send('unchecked');
    assert.equal(String((await nextMessage(client))[0]), 'unchecked');
    const done = closed(client);
    client.close(1000);
    assert.equal((await done).code, 1000);
  } finally {
    await stopWss(s);
  }
});

test('a certificate the client does not trust -> a clear error, then close 1006', T, async () => {
  const trusted = await createTestCertificate();
  const untrusted = await createUntrustedCertificate();
  const s = await startWss(untrusted.key, untrusted.cert);
  let connections = 0;
  s.wss.on('connection', () => connections++);
  try {
    const client = new WebSocket(`wss://localhost:${s.port}`, { ca: trusted.ca });
    const r = await errorThenClose(client);
    assert.match(r.error.message, /self[- ]signed|certificate/i);
    assert.equal(r.close.code, 1006);
    assert.deepEqual(r.order, ['error', 'close']);
    assert.equal(connections, 0);
  } finally {
    await stopWss(s);
  }
});
