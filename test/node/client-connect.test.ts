// The client's opening handshake options, checked against ws where ws is the
// reference: protocolVersion 8, what a custom createConnection receives, the
// Host header, finishRequest, generateMask, http.request options passed
// through (lookup), subprotocols given as options.protocols, and the ws
// options accepted without effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ClientRequest } from 'node:http';
import { connect as netConnect, type LookupFunction } from 'node:net';
import { WebSocket as WsWebSocket } from 'ws';
import { WebSocket, type ClientOptions, type VerifyClientInfo } from '../../src/index.js';
import { duplexPair } from '../support/duplex-pair.js';
import { Opcode, parseClosePayload, startRawServer, type Frame } from '../support/raw-socket.js';
import { closePair, closeServer, nextConnection, nextMessage, opened, startServer } from './helpers.js';

const T = { timeout: 20_000 };

type AnyClient = new (url: string, protocols?: string | string[] | ClientOptions, options?: ClientOptions) => { on(event: string, fn: (...args: any[]) => void): unknown };

test('protocolVersion 8: Sec-WebSocket-Version 8 and the origin as Sec-WebSocket-Origin, framed as 13 (as ws)', T, async () => {
  const origins: string[] = [];
  const started = await startServer({ verifyClient: (info: VerifyClientInfo) => (origins.push(info.origin), true) });
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url, { protocolVersion: 8, origin: 'https://app.example' });
    await opened(client);
    const [server, req] = await connection;
    assert.equal(req.headers['sec-websocket-version'], '8');
    assert.equal(req.headers['sec-websocket-origin'], 'https://app.example');
    assert.equal(req.headers['origin'], undefined);
    assert.deepEqual(origins, ['https://app.example']);
    server.on('message', (data: Buffer) => server.send(data));
    client.send('hybi-08');
    assert.equal(String((await nextMessage(client))[0]), 'hybi-08');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('protocolVersion other than 8 or 13 throws the RangeError ws throws', () => {
  for (const protocolVersion of [7, 14, 0]) {
    const message = `Unsupported protocol version: ${protocolVersion} (supported versions: 8, 13)`;
    assert.throws(() => new WsWebSocket('ws://127.0.0.1:1', { protocolVersion }), { name: 'RangeError', message }, 'ws');
    assert.throws(() => new WebSocket('ws://127.0.0.1:1', { protocolVersion }), { name: 'RangeError', message }, 'hyperws');
  }
  // As ws: a string is not a version.
  assert.throws(() => new WebSocket('ws://127.0.0.1:1', { protocolVersion: '13' as unknown as number }), RangeError);
});

/** The options a custom createConnection receives from `Client` for `url` (the connection then fails on purpose). */
async function createConnectionOptions(Client: AnyClient, url: string, options: ClientOptions = {}): Promise<Record<string, unknown>> {
  let seen: Record<string, unknown> | undefined;
  const client = new Client(url, {
    ...options,
    createConnection: (opts: Record<string, unknown>) => {
      seen = { ...opts };
      throw new Error('recorded');
    },
  });
  const [error] = (await once(client as unknown as NodeJS.EventEmitter, 'error')) as [Error];
  assert.equal(error.message, 'recorded');
  assert.ok(seen, 'createConnection was called');
  return seen;
}

test('createConnection receives the request options as ws passes them (host, port, defaultPort, headers, method, your options)', T, async () => {
  for (const url of ['ws://example.com:8080/chat?room=1', 'wss://example.com/', 'ws://[::1]:9/']) {
    const options: ClientOptions = { localAddress: '127.0.0.1', family: 4, origin: 'https://o.example', headers: { 'X-Trace': '7' } };
    const ours = await createConnectionOptions(WebSocket as unknown as AnyClient, url, options);
    const theirs = await createConnectionOptions(WsWebSocket as unknown as AnyClient, url, options);
    const shared = ['host', 'port', 'defaultPort', 'method', 'path', 'localAddress', 'family', 'origin', 'timeout'];
    const pick = (o: Record<string, unknown>) => Object.fromEntries(shared.map((k) => [k, o[k]]));
    assert.deepEqual(pick(ours), pick(theirs), url);
    // Header names and values, our key aside (ws spells Sec-WebSocket-Version as a number, its list without spaces).
    const headers = ours['headers'] as Record<string, string>;
    assert.equal(headers['X-Trace'], '7');
    assert.equal(headers['Origin'], 'https://o.example');
    assert.equal(headers['Upgrade'], 'websocket');
    assert.equal(headers['Sec-WebSocket-Version'], '13');
    assert.match(headers['Sec-WebSocket-Key'] ?? '', /^[A-Za-z0-9+/]{22}==$/);
  }
  const port8080 = await createConnectionOptions(WebSocket as unknown as AnyClient, 'ws://example.com:8080/');
  assert.equal(port8080['port'], '8080', 'the URL\'s port as text, as ws passes it');
  assert.equal((await createConnectionOptions(WebSocket as unknown as AnyClient, 'wss://example.com/'))['port'], 443);
  // For wss:, we also name the server for SNI (ws's own tlsConnect adds it later): a TLS tunnel can use it.
  assert.equal((await createConnectionOptions(WebSocket as unknown as AnyClient, 'wss://example.com/'))['servername'], 'example.com');
});

test('the Host header has no default port, as ws sends it (ws://example.com/ -> "example.com")', T, async () => {
  const started = await startServer();
  try {
    const hosts: string[] = [];
    started.wss.on('connection', (ws, req) => {
      hosts.push(String(req.headers.host));
      ws.close();
    });
    for (const url of ['ws://example.com/', 'ws://example.com:8080/', 'ws://[::1]/']) {
      const client = new WebSocket(url, { createConnection: () => netConnect({ host: '127.0.0.1', port: started.port }) });
      await once(client, 'close');
    }
    assert.deepEqual(hosts, ['example.com', 'example.com:8080', '[::1]']);
  } finally {
    await closeServer(started.wss);
  }
});

test('finishRequest(request, websocket) is called instead of request.end(): its headers reach the server', T, async () => {
  const started = await startServer();
  try {
    const calls: Array<[boolean, unknown]> = [];
    const connection = nextConnection(started.wss);
    // Called from the constructor, as in ws.
    const client: WebSocket = new WebSocket(started.url, {
      finishRequest: (request, websocket) => {
        calls.push([request instanceof ClientRequest, websocket]);
        request.setHeader('X-Finished', 'by finishRequest');
        request.end();
      },
    });
    assert.equal(calls.length, 1);
    await opened(client);
    const [server, req] = await connection;
    assert.deepEqual(calls, [[true, client]]);
    assert.equal(req.headers['x-finished'], 'by finishRequest');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('finishRequest that throws: the constructor throws (as in ws) and the request is abandoned', async () => {
  const [ours, peer] = duplexPair();
  assert.throws(
    () =>
      new WebSocket('ws://127.0.0.1:1', {
        createConnection: () => ours,
        finishRequest: () => {
          throw new Error('from finishRequest');
        },
      }),
    /from finishRequest/,
  );
  await new Promise((resolve) => setImmediate(resolve)); // node:http hands the socket over on the next tick
  assert.equal(ours.destroyed, true);
  assert.equal(peer.destroyed, true);
});

test('generateMask fills the masking key of every frame sent (data, ping, close), as in ws', T, async () => {
  const frames: Frame[] = [];
  const raw = await startRawServer(async (peer) => {
    await peer.acceptUpgrade();
    for (;;) {
      const frame = await peer.readFrame();
      frames.push(frame);
      if (frame.opcode === Opcode.CLOSE) {
        await peer.sendFrame({ opcode: Opcode.CLOSE, payload: frame.payload });
        peer.end();
        return;
      }
    }
  });
  try {
    let calls = 0;
    const client = new WebSocket(raw.url, {
      perMessageDeflate: false,
      generateMask: (mask: Buffer) => {
        calls++;
        mask.set([calls, 0xa0, 0xb0, 0xc0]);
      },
    });
    await opened(client);
    client.send('one');
    client.ping('p');
    client.send(Buffer.from([1, 2, 3]));
    client.close(1000, 'done');
    await once(client, 'close');
    await raw.idle();
    assert.deepEqual(raw.errors, []);
    assert.equal(calls, 4);
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.mask?.toString('hex'), f.payload.toString('hex')]),
      [
        [Opcode.TEXT, '01a0b0c0', Buffer.from('one').toString('hex')],
        [Opcode.PING, '02a0b0c0', Buffer.from('p').toString('hex')],
        [Opcode.BINARY, '03a0b0c0', '010203'],
        [Opcode.CLOSE, '04a0b0c0', Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('done')]).toString('hex')],
      ],
    );
    assert.deepEqual(parseClosePayload(frames[3]!.payload), { code: 1000, reason: 'done' });
  } finally {
    await raw.close();
  }
});

test('http.request options pass through: a custom lookup resolves the URL\'s host', T, async () => {
  const started = await startServer();
  try {
    const asked: string[] = [];
    // node:net may ask for every address ({ all: true }) or for one.
    const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      asked.push(hostname);
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    }) as unknown as LookupFunction;
    const connection = nextConnection(started.wss);
    const client = new WebSocket(`ws://hyperws.invalid:${started.port}/`, { lookup, family: 4 });
    await opened(client);
    const [server, req] = await connection;
    assert.deepEqual(asked, ['hyperws.invalid']);
    assert.equal(req.headers.host, `hyperws.invalid:${started.port}`);
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('subprotocols as options.protocols when the second argument gives none (as ws); the argument wins', T, async () => {
  const started = await startServer();
  try {
    const fromOptions = new WebSocket(started.url, { protocols: ['chat.v2', 'chat.v1'] });
    await opened(fromOptions);
    assert.equal(fromOptions.protocol, 'chat.v2');
    const single = new WebSocket(started.url, undefined, { protocols: 'solo' });
    await opened(single);
    assert.equal(single.protocol, 'solo');
    const argument = new WebSocket(started.url, ['arg'], { protocols: ['ignored'] });
    await opened(argument);
    assert.equal(argument.protocol, 'arg');
    for (const ws of [fromOptions, single, argument]) ws.close();
    await Promise.all([fromOptions, single, argument].map((ws) => once(ws, 'close')));
  } finally {
    await closeServer(started.wss);
  }
});

test('ws options without an effect here are accepted (allowSynchronousEvents, maxBufferedChunks, maxFragments, maxPendingAutoPongs, host, protocol)', T, async () => {
  const started = await startServer({ allowSynchronousEvents: false, maxBufferedChunks: 1, maxFragments: 1, maxPendingAutoPongs: 1 });
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url, {
      allowSynchronousEvents: false,
      maxBufferedChunks: 1,
      maxFragments: 1,
      maxPendingAutoPongs: 1,
      host: 'ignored.example',
      protocol: 'ignored:',
    });
    await opened(client);
    const [server, req] = await connection;
    assert.equal(req.headers.host, `127.0.0.1:${started.port}`, 'the URL decides the host, as in ws');
    // A message in 3 fragments still arrives whole (maxFragments has no effect).
    client.send('a', { fin: false });
    client.send('b', { fin: false });
    client.send('c', { fin: true });
    assert.equal(String((await nextMessage(server))[0]), 'abc');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});
