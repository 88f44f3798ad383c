// What a server reports: stats() with exact counts (messages, wire bytes,
// close codes, handshakes by refusal reason, compression), the same numbers
// as Prometheus text on /metrics, /healthz and /readyz with `operations`,
// and shutdown() closing clients with 1012.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { WebSocket, WebSocketServer, type PubSubAdapter } from '../../src/index.js';
import { connectRaw } from '../support/raw-socket.js';
import { closeServer, startServer } from './helpers.js';

const T = { timeout: 20_000 };

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, headers }, async (res) => {
      let body = '';
      for await (const chunk of res) body += chunk;
      resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body });
    });
    req.on('error', reject);
    req.end();
  });
}

async function refusedStatus(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<number> {
  const client = new WebSocket(url, options);
  const [, res] = (await once(client, 'unexpected-response')) as [unknown, { statusCode: number; resume(): void }];
  res.resume();
  return res.statusCode;
}

test('stats(): exact counts of one echo session and of refusals by reason; /metrics shows them', T, async () => {
  const { wss, port, url } = await startServer({ operations: true, allowedOrigins: ['https://ok.example'], path: '/ws' });
  try {
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const client = new WebSocket(`${url}/ws`, { perMessageDeflate: false });
    await once(client, 'open');
    for (const text of ['hi', 'yo']) {
      client.send(text);
      await once(client, 'message');
    }
    client.close(1000);
    await once(client, 'close');
    assert.equal(await refusedStatus(`${url}/ws`, { origin: 'https://evil.example' }), 403);
    assert.equal(await refusedStatus(`${url}/elsewhere`), 400);
    const raw = await connectRaw(port);
    await raw.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assert.equal((await raw.readHttpHead()).status, 400, 'no Sec-WebSocket-Key');
    await raw.destroy();
    const bad = await connectRaw(port);
    await bad.write('GET /ws HTTP/1.1\r\nHost : x\r\n\r\n');
    assert.equal((await bad.readHttpHead()).status, 400, 'a space before the colon');
    await bad.destroy();

    const stats = wss.stats();
    assert.deepEqual(stats.connections, { open: 0, accepted: 1 });
    assert.deepEqual(stats.handshakes, { accepted: 1, refused: { origin: 1, path: 1, invalid_request: 1, request_head: 1 } });
    assert.deepEqual(stats.messages, { in: 2, out: 2 });
    // In: two masked 2-byte text frames and a masked Close with a code (6 + 2 bytes each).
    // Out: the echoes and the Close answer, unmasked (2 + 2 bytes each).
    assert.deepEqual(stats.bytes, { in: 24, out: 12 });
    assert.deepEqual(stats.closeCodes, { '1000': 1 });
    assert.deepEqual(stats.backpressure, { closes: 0, drops: 0 });
    assert.deepEqual(stats.deflate, { input: 0, output: 0, ratio: null });
    assert.deepEqual(stats.pubsub, { publications: 0, deliveries: 0, adapter: { name: 'in-process', connected: true, reconnects: 0, dropped: 0 } });

    const metrics = await get(port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(metrics.type, 'text/plain; version=0.0.4; charset=utf-8');
    const lines = metrics.body.split('\n');
    for (const line of [
      'hyperws_connections_open 0',
      'hyperws_handshakes_accepted_total 1',
      'hyperws_handshakes_refused_total{reason="origin"} 1',
      'hyperws_handshakes_refused_total{reason="request_head"} 1',
      'hyperws_messages_received_total 2',
      'hyperws_bytes_received_total 24',
      'hyperws_closes_total{code="1000"} 1',
      'hyperws_adapter_connected{adapter="in-process"} 1',
      '# TYPE hyperws_messages_sent_total counter',
    ]) {
      assert.ok(lines.includes(line), `${line} in\n${metrics.body}`);
    }
    assert.deepEqual(await get(port, '/healthz'), { status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' });
    assert.deepEqual(await get(port, '/readyz'), { status: 200, type: 'text/plain; charset=utf-8', body: 'ready\n' });
  } finally {
    await closeServer(wss);
  }
});

test('without operations, /metrics is an ordinary request (426); publications and deliveries are counted', T, async () => {
  const { wss, port, url } = await startServer({});
  try {
    assert.equal((await get(port, '/metrics')).status, 426);
    const clients = [new WebSocket(url), new WebSocket(url)];
    const joined = new Promise<void>((resolve) => {
      let n = 0;
      wss.on('connection', (ws) => {
        ws.subscribe('news');
        if (++n === 2) resolve();
      });
    });
    await Promise.all(clients.map((c) => once(c, 'open')));
    await joined;
    const got = clients.map((c) => once(c, 'message'));
    assert.equal(wss.publish('news', 'hello'), 2);
    await Promise.all(got);
    const stats = wss.stats();
    assert.equal(stats.pubsub!.publications, 1);
    assert.equal(stats.pubsub!.deliveries, 2);
    assert.equal(stats.messages.out, 2, 'a publication counts once per connection written to');
    for (const c of clients) c.terminate();
  } finally {
    await closeServer(wss);
  }
});

test('deflate: payload bytes compressed and what they became', T, async () => {
  const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
  try {
    wss.on('connection', (ws) => ws.send('a'.repeat(1000)));
    const client = new WebSocket(url);
    const [data] = (await once(client, 'message')) as [Buffer];
    assert.equal(data.toString(), 'a'.repeat(1000));
    const { deflate } = wss.stats();
    assert.equal(deflate.input, 1000);
    assert.ok(deflate.output > 0 && deflate.output < 50, `1000 equal bytes compress to a few: ${deflate.output}`);
    assert.equal(deflate.ratio, deflate.output / 1000);
    client.terminate();
  } finally {
    await closeServer(wss);
  }
});

test('/readyz is 503 while the adapter does not reach its broker', T, async () => {
  let connected = false;
  const adapter: PubSubAdapter = {
    attach() {},
    subscribe() {},
    unsubscribe() {},
    publish() {},
    async close() {},
    status: () => ({ name: 'test', connected, reconnects: 0, dropped: 0 }),
  };
  const { wss, port } = await startServer({ operations: true, adapter });
  try {
    assert.deepEqual(await get(port, '/readyz'), { status: 503, type: 'text/plain; charset=utf-8', body: 'not ready\n' });
    connected = true;
    assert.equal((await get(port, '/readyz')).status, 200);
    assert.ok((await get(port, '/metrics')).body.includes('hyperws_adapter_connected{adapter="test"} 1\n'));
  } finally {
    await closeServer(wss);
  }
});

test('shutdown(): clients are closed with 1012 "Service restart"; close() keeps 1001', T, async () => {
  for (const [how, code, reason] of [['shutdown', 1012, 'Service restart'], ['close', 1001, 'Server shutting down']] as const) {
    const { wss, url } = await startServer({});
    const client = new WebSocket(url);
    await once(client, 'open');
    const closed = once(client, 'close');
    const done = new Promise<void>((resolve) => (how === 'shutdown' ? wss.shutdown({}, () => resolve()) : wss.close(() => resolve())));
    const [gotCode, gotReason] = (await closed) as [number, Buffer];
    assert.equal(gotCode, code);
    assert.equal(gotReason.toString(), reason);
    await done;
    assert.equal(wss.isReady(), false);
  }
});

test('a server given noServer is ready at once and not after close', () => {
  const wss = new WebSocketServer({ noServer: true });
  assert.equal(wss.isReady(), true);
  wss.close();
  assert.equal(wss.isReady(), false);
});
