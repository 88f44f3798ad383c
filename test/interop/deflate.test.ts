// permessage-deflate interop: compression negotiated and traffic exact with
// the `ws` package (as client and as server), Python `websockets` (Debian
// python3-websockets 10.4, which offers and accepts compression by default)
// both ways, and headless Chromium (which always offers it). Messages of
// 10 bytes, 1 KiB, 64 KiB and 1 MiB, text and binary, go both ways; content
// is compared by SHA-256. Each case runs against our default server (no
// context takeover) and one that allows context takeover.
// Locally a missing python3-websockets or chromium skips those tests; under CI they fail.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WsWebSocket, { WebSocketServer as WsWebSocketServer } from 'ws';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from '../../src/index.js';
import { withChromium } from '../support/chromium.js';
import { pythonScriptDir, startPythonEchoServer } from '../support/python.js';
import { chromiumPath, pythonWebsockets, requireDependency, skipReason } from '../support/system.js';
import { Inbox, startOurServer, type OurServer } from './helpers.js';
import { closeOnAbort } from '../extensions/permessage-deflate/helpers.js';

const TIMEOUT = 120_000;
const SIZES = [10, 1024, 64 * 1024, 1024 * 1024];
const NO_TAKEOVER = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

// The payload generators are plain JavaScript so the page runs the very same
// code (their source is sent to it), and the Python client has a line-for-line twin.

/** Compressible ASCII text of n bytes. */
function textOf(n: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += String(i).padStart(8, '0') + ' the quick brown fox jumps over the lazy dog\n';
  return s.slice(0, n);
}

/** n incompressible bytes (xorshift32). */
function bytesOf(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

interface Expected {
  binary: boolean;
  length: number;
  sha256: string;
}

/** The exchange, in order: for each size, a text then a binary message. */
const EXCHANGE: Expected[] = SIZES.flatMap((n) => [
  { binary: false, length: n, sha256: sha256(textOf(n)) },
  { binary: true, length: n, sha256: sha256(bytesOf(n)) },
]);
const payloadOf = (e: Expected): string | Buffer => (e.binary ? Buffer.from(bytesOf(e.length)) : textOf(e.length));
const PAYLOAD_BYTES = EXCHANGE.reduce((sum, e) => sum + e.length, 0);

const summary = (data: Buffer, isBinary: boolean): Expected => ({ binary: isBinary, length: data.length, sha256: sha256(data) });

interface ServerConfig {
  name: string;
  options: true | PerMessageDeflateOptions;
}
const SERVERS: ServerConfig[] = [
  { name: 'default server (no context takeover)', options: true },
  { name: 'server allowing context takeover', options: { serverNoContextTakeover: false, clientNoContextTakeover: false } },
];

interface Recorded {
  ws: WebSocket;
  req: IncomingMessage;
  received: Expected[];
  closed: Promise<[number, string]>;
}

/** Our server echoing every message, recording what it received (listeners attached in 'connection'). */
async function startRecordingServer(options: ServerConfig['options']): Promise<{ srv: OurServer; conns: Recorded[] }> {
  const srv = await startOurServer({ perMessageDeflate: options });
  const conns: Recorded[] = [];
  srv.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const received: Expected[] = [];
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received.push(summary(data, isBinary));
      ws.send(data, { binary: isBinary });
    });
    conns.push({ ws, req, received, closed });
  });
  return { srv, conns };
}

/** Sends the exchange from `client`, one message at a time, and returns the echoes it got. */
async function exchangeFrom(client: { send(data: unknown, options: { binary: boolean }): void }, inbox: Inbox<[Buffer, boolean]>): Promise<Expected[]> {
  const echoes: Expected[] = [];
  for (const e of EXCHANGE) {
    client.send(payloadOf(e), { binary: e.binary });
    const [data, isBinary] = await inbox.next();
    echoes.push(summary(Buffer.from(data), isBinary));
  }
  return echoes;
}

const wireOf = (socket: Socket): { written: number; read: number } => ({ written: socket.bytesWritten, read: socket.bytesRead });

/** Compressible text is half the payload: compressed traffic stays well under the payload size. */
function assertCompressed(wire: { written: number; read: number }): void {
  assert.ok(wire.written < PAYLOAD_BYTES * 0.75, `${wire.written} bytes written for ${PAYLOAD_BYTES} bytes of payload`);
  assert.ok(wire.read < PAYLOAD_BYTES * 0.75, `${wire.read} bytes read for ${PAYLOAD_BYTES} bytes of payload`);
}

// ------------------------------------------------------------------------ ws

describe('ws interop with permessage-deflate', () => {
  for (const server of SERVERS) {
    test(`ws client -> our ${server.name}: negotiated on both sides, every message exact`, { timeout: TIMEOUT }, async (t) => {
      const { srv, conns } = await startRecordingServer(server.options);
      const client = new WsWebSocket(srv.url, { perMessageDeflate: true });
      closeOnAbort(t.signal, () => {
        client.terminate();
        for (const c of srv.wss.clients) c.terminate();
        return srv.close();
      });
      const inbox = new Inbox<[Buffer, boolean]>(client, 'message');
      let response: string | undefined;
      client.once('upgrade', (res) => (response = res.headers['sec-websocket-extensions']));
      try {
        await once(client, 'open');
        assert.equal(client.extensions, 'permessage-deflate');
        assert.equal(response, server.options === true ? NO_TAKEOVER : 'permessage-deflate');
        assert.deepEqual(await exchangeFrom(client, inbox), EXCHANGE, 'echoes');
        const conn = conns[0]!;
        assert.equal(conn.ws.extensions, 'permessage-deflate');
        assert.equal(conn.req.headers['sec-websocket-extensions'], 'permessage-deflate; client_max_window_bits');
        assert.deepEqual(conn.received, EXCHANGE, 'what our server received');
        assertCompressed(wireOf((client as unknown as { _socket: Socket })._socket));
        client.close(1000, 'done');
        assert.deepEqual(await conn.closed, [1000, 'done']);
        await once(client, 'close');
      } finally {
        inbox.dispose();
        if (client.readyState !== client.CLOSED) client.terminate();
        await srv.close();
      }
    });
  }

  for (const wsOptions of [{}, { serverNoContextTakeover: true, clientNoContextTakeover: true }]) {
    const label = Object.keys(wsOptions).length === 0 ? 'ws server defaults' : 'ws server without context takeover';
    test(`our client -> ws server (${label}): negotiated on both sides, every message exact`, { timeout: TIMEOUT }, async (t) => {
      const wss = new WsWebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsOptions });
      closeOnAbort(t.signal, () => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      });
      const received: Expected[] = [];
      let serverSide: WsWebSocket | undefined;
      let offer: string | undefined;
      wss.on('connection', (ws: WsWebSocket, req: IncomingMessage) => {
        serverSide = ws;
        offer = req.headers['sec-websocket-extensions'];
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          received.push(summary(data, isBinary));
          ws.send(data, { binary: isBinary });
        });
      });
      await once(wss, 'listening');
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
      closeOnAbort(t.signal, () => client.terminate());
      const inbox = new Inbox<[Buffer, boolean]>(client, 'message');
      try {
        await once(client, 'open');
        assert.equal(client.extensions, 'permessage-deflate');
        assert.equal(offer, 'permessage-deflate; client_max_window_bits');
        assert.equal(serverSide!.extensions, 'permessage-deflate');
        assert.deepEqual(await exchangeFrom(client, inbox), EXCHANGE, 'echoes');
        assert.deepEqual(received, EXCHANGE, 'what ws received');
        assertCompressed(wireOf(client._socket as Socket));
        const closed = once(serverSide!, 'close');
        client.close(1000, 'done');
        await Promise.all([once(client, 'close'), closed]);
      } finally {
        inbox.dispose();
        if (client.readyState !== client.CLOSED) client.terminate();
        serverSide?.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      }
    });
  }
});

// -------------------------------------------------------------------- Python

const py = pythonWebsockets();
const pySkip = skipReason(py);

/** The Python twin of textOf/bytesOf, and a client running the same exchange. */
const PY_CLIENT = String.raw`
import asyncio, hashlib, json, sys
from ws_compat import connect, response_headers

def text_of(n):
    parts, size, i = [], 0, 0
    while size < n:
        s = str(i).zfill(8) + " the quick brown fox jumps over the lazy dog\n"
        parts.append(s); size += len(s); i += 1
    return "".join(parts)[:n]

def bytes_of(n):
    out = bytearray(n); x = 2463534242
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)

def summary(m):
    data = m.encode("utf-8") if isinstance(m, str) else bytes(m)
    return {"binary": not isinstance(m, str), "length": len(data), "sha256": hashlib.sha256(data).hexdigest()}

async def main():
    url, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    result = {"extensions": None, "sent": [], "echoes": [], "error": None}
    try:
        async with connect(url, compression="deflate", max_size=None, ping_interval=None) as ws:
            result["extensions"] = response_headers(ws).get("Sec-WebSocket-Extensions")
            for n in sizes:
                for m in (text_of(n), bytes_of(n)):
                    result["sent"].append(summary(m))
                    await ws.send(m)
                    result["echoes"].append(summary(await ws.recv()))
            await ws.close(code=1000, reason="done")
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(result), flush=True)

asyncio.run(main())
`;

interface PyResult {
  extensions: string | null;
  sent: Expected[];
  echoes: Expected[];
  error: string | null;
}

async function runPythonDeflateClient(url: string): Promise<PyResult> {
  const { python } = requireDependency(py);
  const dir = pythonScriptDir();
  const child = spawn(python, ['-u', '-c', PY_CLIENT, url, SIZES.join(',')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // Safety net, not an assertion: a hung client is killed.
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    assert.ok(line, `python client printed no JSON (exit ${code})\n${stderr}`);
    return JSON.parse(line) as PyResult;
  } finally {
    clearTimeout(kill);
  }
}

describe('python websockets interop with permessage-deflate', () => {
  for (const server of SERVERS) {
    test(`python client -> our ${server.name}: negotiated, every message exact both ways`, { skip: pySkip, timeout: TIMEOUT }, async (t) => {
      const { srv, conns } = await startRecordingServer(server.options);
      closeOnAbort(t.signal, () => {
        for (const c of srv.wss.clients) c.terminate();
        return srv.close();
      });
      try {
        const r = await runPythonDeflateClient(srv.url);
        assert.equal(r.error, null);
        assert.equal(r.extensions, server.options === true ? NO_TAKEOVER : 'permessage-deflate');
        assert.deepEqual(r.sent, EXCHANGE, 'the Python generators match ours');
        assert.deepEqual(r.echoes, EXCHANGE, 'echoes received by Python');
        const conn = conns[0]!;
        assert.equal(conn.req.headers['sec-websocket-extensions'], 'permessage-deflate; client_max_window_bits');
        assert.equal(conn.ws.extensions, 'permessage-deflate');
        assert.deepEqual(conn.received, EXCHANGE, 'what our server received');
        assert.deepEqual(await conn.closed, [1000, 'done']);
      } finally {
        await srv.close();
      }
    });
  }

  test('our client -> python echo server: negotiated (12-bit windows), every message exact both ways', { skip: pySkip, timeout: TIMEOUT }, async (t) => {
    const server = await startPythonEchoServer({ compression: true });
    const client = new WebSocket(server.url);
    closeOnAbort(t.signal, () => {
      client.terminate();
      return server.close();
    });
    const inbox = new Inbox<[Buffer, boolean]>(client, 'message');
    let response: string | undefined;
    client.once('upgrade', (res: IncomingMessage) => (response = res.headers['sec-websocket-extensions']));
    try {
      await once(client, 'open');
      assert.equal(client.extensions, 'permessage-deflate');
      assert.equal(response, 'permessage-deflate; server_max_window_bits=12; client_max_window_bits=12');
      assert.deepEqual(await exchangeFrom(client, inbox), EXCHANGE, 'echoes');
      assertCompressed(wireOf(client._socket as Socket));
      client.close(1000, 'done');
      const [code] = (await once(client, 'close')) as [number, Buffer];
      assert.equal(code, 1000);
    } finally {
      inbox.dispose();
      if (client.readyState !== client.CLOSED) client.terminate();
      await server.close();
    }
  });
});

// ------------------------------------------------------------------ Chromium

const chrome = chromiumPath();
const chromeSkip = skipReason(chrome);

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>hyperws deflate interop</title></head><body>
<script>
${textOf.toString()}
${bytesOf.toString()}
async function runDeflateExchange(url, sizes) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  const waiting = [];
  ws.onmessage = (e) => { const w = waiting.shift(); if (w) w(e.data); else queue.push(e.data); };
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
  let errors = 0;
  ws.onerror = () => { errors++; };
  const closed = new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); });
  await new Promise((resolve, reject) => { ws.onopen = resolve; closed.then(reject); });
  const out = { extensions: ws.extensions, echoes: [] };
  for (const n of sizes) {
    const text = textOf(n);
    ws.send(text);
    const t = await next();
    out.echoes.push({ binary: typeof t !== 'string', length: t.length, equal: t === text });
    const bytes = bytesOf(n);
    ws.send(bytes);
    const b = await next();
    const back = new Uint8Array(b);
    let equal = back.length === bytes.length;
    for (let i = 0; equal && i < back.length; i++) equal = back[i] === bytes[i];
    out.echoes.push({ binary: b instanceof ArrayBuffer, length: back.length, equal });
  }
  ws.close(1000, 'done');
  out.close = await closed;
  out.errors = errors;
  return out;
}
</script>
</body></html>
`;

interface Site {
  wsUrl: string;
  pageUrl: string;
  conns: Recorded[];
  close(): Promise<void>;
}

/** node:http serving PAGE at '/', with our echoing WebSocketServer on the same port. */
async function startSite(options: ServerConfig['options']): Promise<Site> {
  const http: Server = createServer((req, res) => {
    const body = Buffer.from(req.url === '/' ? PAGE : 'not found');
    res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  });
  const wss = new WebSocketServer({ server: http, perMessageDeflate: options });
  const conns: Recorded[] = [];
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const received: Expected[] = [];
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received.push(summary(data, isBinary));
      ws.send(data, { binary: isBinary });
    });
    conns.push({ ws, req, received, closed });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  return {
    wsUrl: `ws://127.0.0.1:${port}/`,
    pageUrl: `http://127.0.0.1:${port}/`,
    conns,
    async close() {
      for (const { ws } of conns) if (ws.readyState !== ws.CLOSED) ws.terminate();
      await Promise.all(conns.map((c) => c.closed));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve, reject) => http.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

describe('chromium interop with permessage-deflate', () => {
  for (const server of SERVERS) {
    test(`page WebSocket -> our ${server.name}: negotiated, every message exact both ways`, { skip: chromeSkip, timeout: TIMEOUT }, async (t) => {
      const site = await startSite(server.options);
      closeOnAbort(t.signal, () => site.close());
      try {
        const result = await withChromium(async (browser) => {
          const page = await browser.newPage();
          assert.equal((await page.goto(site.pageUrl))?.status(), 200);
          return page.evaluate(`runDeflateExchange(${JSON.stringify(site.wsUrl)}, ${JSON.stringify(SIZES)})`);
        });
        assert.deepEqual(result, {
          extensions: server.options === true ? NO_TAKEOVER : 'permessage-deflate',
          echoes: EXCHANGE.map((e) => ({ binary: e.binary, length: e.length, equal: true })),
          close: { code: 1000, reason: 'done', wasClean: true },
          errors: 0,
        });
        const conn = site.conns[0]!;
        assert.equal(site.conns.length, 1);
        assert.equal(conn.req.headers['sec-websocket-extensions'], 'permessage-deflate; client_max_window_bits');
        assert.equal(conn.ws.extensions, 'permessage-deflate');
        assert.deepEqual(conn.received, EXCHANGE, 'what our server received from the page');
        assert.deepEqual(await conn.closed, [1000, 'done']);
      } finally {
        await site.close();
      }
    });
  }
});
