// The server's opening handshake over a real TCP socket, driven byte by byte
// by the raw client: every refusal is one plain-text HTTP response followed by
// the server closing the socket; odd but valid requests still get their 101.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  Opcode,
  SAMPLE_KEY,
  acceptKey,
  connectRaw,
  encodeFrame,
  handshakeRaw,
  upgradeRequest,
  type HeaderOverrides,
  type RawClient,
} from '../support/raw-socket.js';
import type { ServerOptions, VerifyClientCallback, VerifyClientInfo } from '../../src/index.js';
import { closeServer, startServer } from './helpers.js';

const T = { timeout: 20_000 };

interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server wrote, read until it closed the socket. */
  all: string;
}

/** Sends `request`, reads until the server closes the socket, parses the one response. */
async function refusal(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>, request: string): Promise<Refusal> {
  const { wss, port } = await startServer(options);
  const connections: unknown[] = [];
  wss.on('connection', (ws) => connections.push(ws));
  let opened: RawClient | undefined;
  try {
    const client = (opened = await connectRaw(port));
    await client.write(request);
    const all = (await client.readUntilEnd()).toString('latin1');
    const end = all.indexOf('\r\n\r\n');
    assert.ok(end > 0, `no HTTP head in ${JSON.stringify(all)}`);
    const [statusLine = '', ...lines] = all.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    assert.ok(m, `bad status line ${JSON.stringify(statusLine)}`);
    // Written exactly once: a single status line in all the bytes received.
    assert.equal(all.split('HTTP/1.1').length - 1, 1, `expected one response, got ${JSON.stringify(all)}`);
    const body = all.slice(end + 4);
    assert.equal(headers['content-length'], String(Buffer.byteLength(body)), 'Content-Length matches the body');
    assert.equal(connections.length, 0, 'no connection was accepted');
    return { status: Number(m[1]), headers, body, all };
  } finally {
    await opened?.destroy();
    await closeServer(wss);
  }
}

const req = (overrides?: HeaderOverrides, path = '/'): string => upgradeRequest(path, { Host: 'localhost', ...overrides });

test('version 7 -> 426 with Sec-WebSocket-Version: 13, 8 and a plain-text body', T, async () => {
  const r = await refusal({}, req({ 'Sec-WebSocket-Version': '7' }));
  assert.equal(r.status, 426);
  assert.equal(r.headers['sec-websocket-version'], '13, 8');
  assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
  assert.ok(r.body.length > 0, 'the body says why');
  assert.match(r.body, /version/i);
});

test('version 8 (hybi-08, framed as 13) -> 101, with Sec-WebSocket-Origin as the origin verifyClient sees', T, async () => {
  const origins: string[] = [];
  const { wss, port } = await startServer({ verifyClient: (info: VerifyClientInfo) => origins.push(info.origin) > 0 });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  let client: RawClient | undefined;
  try {
    client = await handshakeRaw(port, '/', { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'https://a.example' });
    await client.sendFrame({ opcode: Opcode.TEXT, payload: 'eight' });
    const echo = await client.readFrame();
    assert.equal(echo.opcode, Opcode.TEXT);
    assert.equal(echo.payload.toString(), 'eight');
    assert.deepEqual(origins, ['https://a.example']);
  } finally {
    await client?.destroy();
    await closeServer(wss);
  }
});

test('no Host over TCP -> 400 (RFC 6455 4.1; only an in-process request may leave it out)', T, async () => {
  const r = await refusal({}, req({ Host: null }));
  assert.equal(r.status, 400);
  assert.equal(r.body, 'Missing Host header');
});

test('perMessageDeflate on: a malformed Sec-WebSocket-Extensions -> 400, as ws', T, async () => {
  const r = await refusal({ perMessageDeflate: true }, req({ 'Sec-WebSocket-Extensions': 'permessage-deflate;' }));
  assert.equal(r.status, 400);
  assert.equal(r.body, 'Invalid Sec-WebSocket-Extensions header: Unexpected end of input at index 19: expected parameter name');
  const empty = await refusal({ perMessageDeflate: true }, req({ 'Sec-WebSocket-Extensions': ' , ' }));
  assert.equal(empty.status, 400);
  assert.equal(empty.body, 'Invalid Sec-WebSocket-Extensions header: the list is empty');
});

test('a key that decodes to 15 bytes -> 400', T, async () => {
  const key15 = Buffer.alloc(15, 7).toString('base64');
  assert.equal(Buffer.from(key15, 'base64').length, 15);
  const r = await refusal({}, req({ 'Sec-WebSocket-Key': key15 }));
  assert.equal(r.status, 400);
  assert.match(r.body, /Sec-WebSocket-Key/);
});

test('POST -> 405 with Allow: GET', T, async () => {
  const r = await refusal({}, req().replace(/^GET /, 'POST '));
  assert.equal(r.status, 405);
  assert.equal(r.headers['allow'], 'GET');
});

test('missing Upgrade header -> 400', T, async () => {
  const r = await refusal({}, req({ Upgrade: null }));
  assert.equal(r.status, 400);
  assert.match(r.body, /Upgrade/);
});

test('Connection without the upgrade token -> 400', T, async () => {
  const r = await refusal({}, req({ Connection: 'keep-alive' }));
  assert.equal(r.status, 400);
  assert.match(r.body, /Connection/);
});

test('4,000 subprotocols in 12 KB (under Node\'s header limit) -> 400 with the exact reason', T, async () => {
  const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const tokens = Array.from({ length: 4000 }, (_, i) => tchars[Math.floor(i / tchars.length)]! + tchars[i % tchars.length]!);
  assert.equal(new Set(tokens).size, 4000);
  const r = await refusal({}, req({ 'Sec-WebSocket-Protocol': tokens.join(',') }));
  assert.equal(r.status, 400);
  assert.equal(r.body, 'Invalid Sec-WebSocket-Protocol header: more than 64 subprotocols');
});

test('17 extension offers -> 400 with the exact reason', T, async () => {
  const offers = Array.from({ length: 17 }, (_, i) => `x-${i}`).join(', ');
  const r = await refusal({}, req({ 'Sec-WebSocket-Extensions': offers }));
  assert.equal(r.status, 400);
  assert.equal(r.body, 'Invalid Sec-WebSocket-Extensions header: more than 16 extension offers');
});

test('allowedOrigins: a foreign Origin -> 403', T, async () => {
  const r = await refusal({ allowedOrigins: ['https://good.example'] }, req({ Origin: 'https://evil.example' }));
  assert.equal(r.status, 403);
  assert.match(r.body, /evil\.example/);
});

test('path option: another path -> 400', T, async () => {
  const r = await refusal({ path: '/ws' }, req({}, '/other'));
  assert.equal(r.status, 400);
});

test('verifyClient returning false -> 401', T, async () => {
  let info: VerifyClientInfo | undefined;
  const r = await refusal(
    {
      verifyClient: (i: VerifyClientInfo) => {
        info = i;
        return false;
      },
    },
    req({ Origin: 'https://app.example' }),
  );
  assert.equal(r.status, 401);
  assert.equal(info?.origin, 'https://app.example');
  assert.equal(info?.secure, false);
  assert.equal(info?.req.url, '/');
});

test('async verifyClient: cb(false, 403, "Nope", headers) -> 403, body "Nope", the header', T, async () => {
  const r = await refusal(
    {
      verifyClient: (_info: VerifyClientInfo, cb: VerifyClientCallback) => {
        setImmediate(() => cb(false, 403, 'Nope', { 'X-Why': 'test' }));
      },
    },
    req(),
  );
  assert.equal(r.status, 403);
  assert.equal(r.body, 'Nope');
  assert.equal(r.headers['x-why'], 'test');
});

// ------------------------------------------------------------- acceptance

/** Sends `chunks` (awaiting each write) and expects a 101 with the right accept value. */
async function accepted(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>, chunks: Array<string | Buffer>, key = SAMPLE_KEY) {
  const { wss, port } = await startServer(options);
  const connection = once(wss, 'connection');
  let opened: RawClient | undefined;
  try {
    const client = (opened = await connectRaw(port));
    for (const c of chunks) await client.write(c);
    const head = await client.readHttpHead();
    assert.equal(head.status, 101, head.raw);
    assert.equal(head.headers['sec-websocket-accept'], acceptKey(key));
    assert.equal(head.headers['upgrade'], 'websocket');
    assert.equal(head.headers['connection'], 'Upgrade');
    const [ws] = await connection;
    return { wss, client, head, ws: ws as import('../../src/index.js').WebSocket };
  } catch (err) {
    await opened?.destroy();
    await closeServer(wss);
    throw err;
  }
}

async function cleanup(x: Awaited<ReturnType<typeof accepted>>): Promise<void> {
  await x.client.destroy();
  await closeServer(x.wss);
}

test('perMessageDeflate on: an offer with an invalid parameter value is declined, not refused (RFC 7692 7; ws answers 400)', T, async () => {
  const bad = await accepted({ perMessageDeflate: true }, [req({ 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=foo' })]);
  assert.equal(bad.head.headers['sec-websocket-extensions'], undefined);
  assert.equal(bad.ws.extensions, '');
  await cleanup(bad);
  // The next acceptable offer is taken.
  const next = await accepted({ perMessageDeflate: true }, [req({ 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=7, permessage-deflate' })]);
  assert.equal(next.head.headers['sec-websocket-extensions'], 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  assert.equal(next.ws.extensions, 'permessage-deflate');
  await cleanup(next);
});

test('allowedOrigins: the allowed Origin -> 101', T, async () => {
  const x = await accepted({ allowedOrigins: ['https://good.example'] }, [req({ Origin: 'https://good.example' })]);
  await cleanup(x);
});

test('allowedOrigins: no Origin at all (non-browser client) -> 101', T, async () => {
  const x = await accepted({ allowedOrigins: ['https://good.example'] }, [req()]);
  await cleanup(x);
});

test('Connection: keep-alive, Upgrade -> 101', T, async () => {
  const x = await accepted({}, [req({ Connection: 'keep-alive, Upgrade' })]);
  await cleanup(x);
});

test('mixed-case header names and values -> 101', T, async () => {
  const key = 'AQIDBAUGBwgJCgsMDQ4PEA==';
  const request =
    'GET / HTTP/1.1\r\n' +
    'hOsT: localhost\r\n' +
    'UpGrAdE: WebSocket\r\n' +
    'cOnNeCtIoN: uPgRaDe\r\n' +
    `SEC-WEBSOCKET-KEY: ${key}\r\n` +
    'sec-websocket-version: 13\r\n\r\n';
  const x = await accepted({}, [request], key);
  await cleanup(x);
});

test('a request split into one-byte writes -> 101 with the right accept value', T, async () => {
  const bytes = Buffer.from(req());
  const chunks = [...bytes].map((b) => Buffer.from([b]));
  const x = await accepted({}, chunks);
  await cleanup(x);
});

test('frame bytes in the same write as the request head are processed as a message', T, async () => {
  const { wss, port } = await startServer();
  const received = new Promise<[string, boolean]>((resolve) =>
    wss.once('connection', (ws) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve([data.toString(), isBinary]))),
  );
  let opened: RawClient | undefined;
  try {
    const client = (opened = await connectRaw(port));
    await client.write(Buffer.concat([Buffer.from(req()), encodeFrame({ opcode: Opcode.TEXT, payload: 'early bird' })]));
    const head = await client.readHttpHead();
    assert.equal(head.status, 101);
    assert.deepEqual(await received, ['early bird', false]);
  } finally {
    await opened?.destroy();
    await closeServer(wss);
  }
});
