// Interop with Python `websockets` (Debian python3-websockets 10.4), both
// ways: our WebSocketServer with its client (test/support/python/client.py),
// and our client with its echo server (echo_server.py). Our server has
// permessage-deflate off by default: websockets' default offer must then be
// declined by not answering, and the Python side must go on uncompressed.
// With both sides enabling it, compressed traffic must interoperate too.
// Locally a missing python3-websockets skips these tests; under CI it fails.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type ClientOptions } from '../../src/index.js';
import { pythonWebsockets, requireDependency, skipReason } from '../support/system.js';
import { runPythonClient, startPythonEchoServer, type PythonClientResult } from '../support/python.js';
import { Inbox, pattern, startOurServer, terminated, type CloseArgs, type MessageArgs, type OurServer } from './helpers.js';

const py = pythonWebsockets();
const skip = skipReason(py);
const TIMEOUT = 60_000;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const BIG_TEXT = Array.from({ length: 100 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

interface ServerConnection {
  ws: WebSocket;
  req: IncomingMessage;
  messages: MessageArgs[];
  closed: Promise<CloseArgs>;
}

/**
 * Our server, echoing every message with its type, recording what each
 * connection received and how it closed. Listeners are attached inside the
 * 'connection' event so nothing the peer sends can be missed.
 */
async function startEchoServer(
  handleProtocols?: (protocols: Set<string>) => string | false,
  perMessageDeflate = false,
): Promise<{ srv: OurServer; conns: ServerConnection[] }> {
  const srv = await startOurServer({ perMessageDeflate, ...(handleProtocols ? { handleProtocols } : {}) });
  const conns: ServerConnection[] = [];
  srv.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const messages: MessageArgs[] = [];
    const closed = new Promise<CloseArgs>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason])));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      messages.push([Buffer.from(data), isBinary]);
      ws.send(data, { binary: isBinary });
    });
    conns.push({ ws, req, messages, closed });
  });
  return { srv, conns };
}

function assertNoError(r: PythonClientResult): void {
  assert.equal(r.error, null, `python client failed: ${r.error}\n${r.stderr}`);
  assert.equal(r.exitCode, 0, r.stderr);
}

describe('python websockets client -> our WebSocketServer', () => {
  for (const compression of [null, 'deflate'] as const) {
    const label = compression === null ? 'compression=None' : 'default permessage-deflate offer, declined';
    test(`echo-check (${label}): every message echoed, close 4000 'done' seen by our server`, { skip, timeout: TIMEOUT }, async () => {
      requireDependency(py);
      const { srv, conns } = await startEchoServer();
      try {
        const r = await runPythonClient(srv.url, 'echo-check', { compression });
        assertNoError(r);
        assert.equal(r.ok, true);
        assert.equal(r.extensions, null, 'our server must not answer the extension offer');
        assert.equal(r.subprotocol, null);
        assert.deepEqual(
          r.messages,
          [
            { type: 'text', length: 5, sha256: sha256('hello'), equal: true },
            { type: 'binary', length: 256, sha256: sha256(pattern256()), equal: true },
            { type: 'text', length: BIG_TEXT.length, sha256: sha256(BIG_TEXT), equal: true },
          ],
        );
        // The client reports our echo of its close: code and reason.
        assert.deepEqual(r.close, { code: 4000, reason: 'done' });

        assert.equal(conns.length, 1);
        const conn = conns[0]!;
        const offer = conn.req.headers['sec-websocket-extensions'];
        if (compression === null) assert.equal(offer, undefined);
        else assert.match(String(offer), /^permessage-deflate(;|$)/);
        assert.equal(conn.ws.extensions, '');
        const [code, reason] = await conn.closed;
        assert.equal(code, 4000);
        assert.equal(reason.toString(), 'done');
        assert.equal(conn.messages.length, 3);
        assert.deepEqual(conn.messages[0], [Buffer.from('hello'), false]);
        assert.deepEqual(conn.messages[1], [pattern256(), true]);
        assert.equal(conn.messages[2]![1], false);
        assert.equal(conn.messages[2]![0].toString(), BIG_TEXT);
      } finally {
        await srv.close();
      }
    });
  }

  test('echo-check with permessage-deflate enabled on our server: negotiated and every message echoed', { skip, timeout: TIMEOUT }, async () => {
    requireDependency(py);
    const { srv, conns } = await startEchoServer(undefined, true);
    try {
      const r = await runPythonClient(srv.url, 'echo-check');
      assertNoError(r);
      assert.equal(r.ok, true);
      assert.match(String(r.extensions), /^permessage-deflate(;|$)/);
      assert.deepEqual(r.messages.map((m) => m.equal), [true, true, true]);
      assert.deepEqual(r.close, { code: 4000, reason: 'done' });
      assert.match(conns[0]!.ws.extensions, /^permessage-deflate/);
      const [code, reason] = await conns[0]!.closed;
      assert.deepEqual([code, reason.toString()], [4000, 'done']);
      assert.equal(conns[0]!.messages[2]![0].toString(), BIG_TEXT);
    } finally {
      await srv.close();
    }
  });

  test('subprotocol: handleProtocols picks one of the offered ones; both sides agree', { skip, timeout: TIMEOUT }, async () => {
    requireDependency(py);
    let offered: string[] = [];
    const { srv, conns } = await startEchoServer((protocols) => {
      offered = [...protocols];
      return 'chat.v1';
    });
    try {
      const r = await runPythonClient(srv.url, 'connect-only', { compression: null, subprotocols: ['chat.v2', 'chat.v1'] });
      assertNoError(r);
      assert.equal(r.subprotocol, 'chat.v1');
      assert.deepEqual(r.close, { code: 1000, reason: '' });
      assert.deepEqual(offered, ['chat.v2', 'chat.v1']);
      assert.equal(conns.length, 1);
      assert.equal(conns[0]!.ws.protocol, 'chat.v1');
      const [code, reason] = await conns[0]!.closed;
      assert.equal(code, 1000);
      assert.equal(reason.length, 0);
    } finally {
      await srv.close();
    }
  });

  test('subprotocol: the default choice is the client\'s first offer', { skip, timeout: TIMEOUT }, async () => {
    requireDependency(py);
    const { srv, conns } = await startEchoServer();
    try {
      const r = await runPythonClient(srv.url, 'connect-only', { subprotocols: ['chat.v2', 'chat.v1'] });
      assertNoError(r);
      assert.equal(r.subprotocol, 'chat.v2');
      assert.equal(r.extensions, null);
      assert.equal(conns[0]!.ws.protocol, 'chat.v2');
      assert.equal((await conns[0]!.closed)[0], 1000);
    } finally {
      await srv.close();
    }
  });

  test('subprotocol: the server selecting none is accepted by websockets', { skip, timeout: TIMEOUT }, async () => {
    requireDependency(py);
    const { srv, conns } = await startEchoServer(() => false);
    try {
      const r = await runPythonClient(srv.url, 'connect-only', { compression: null, subprotocols: ['chat.v2'] });
      assertNoError(r);
      assert.equal(r.subprotocol, null);
      assert.equal(conns[0]!.ws.protocol, '');
      assert.equal((await conns[0]!.closed)[0], 1000);
    } finally {
      await srv.close();
    }
  });
});

/** Opens our client to `url`; resolves once open, with inboxes attached before any data can arrive. */
async function openClient(url: string, protocols: string[] = [], options: ClientOptions = {}) {
  const ws = new WebSocket(url, protocols, options);
  const messages = new Inbox<MessageArgs>(ws, 'message');
  const closes = new Inbox<CloseArgs>(ws, 'close');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      ws.off('error', reject);
      resolve();
    });
    ws.once('error', reject);
  });
  return { ws, messages, closes };
}

describe('our client -> python websockets echo server', () => {
  // Server: compression=None or websockets' default (permessage-deflate
  // enabled). Client: perMessageDeflate false (no offer) or our default offer.
  // Compression is in use only when both sides want it.
  for (const serverCompression of [false, true]) {
    for (const clientOffers of [false, true]) {
      const label = `server ${serverCompression ? 'default (deflate enabled)' : 'compression=None'}, client ${clientOffers ? 'offers deflate' : 'perMessageDeflate: false'}`;
      const negotiated = serverCompression && clientOffers;
      test(`text, binary, 1 MiB, close from both ends (${label})`, { skip, timeout: TIMEOUT }, async () => {
        requireDependency(py);
        const server = await startPythonEchoServer({ compression: serverCompression });
        const clientOptions = clientOffers ? {} : { perMessageDeflate: false };
        try {
          const { ws, messages, closes } = await openClient(server.url, [], clientOptions);
          try {
            assert.equal(ws.extensions, negotiated ? 'permessage-deflate' : '');
            assert.equal(ws.protocol, '');
            const exchanges: Array<[string | Buffer, boolean]> = [
              ['hello', false],
              ['héllo wörld ✓', false],
              ['', false],
              [pattern256(), true],
              [Buffer.alloc(0), true],
              [pattern(1024 * 1024, 5), true],
              ['x'.repeat(1024 * 1024), false],
            ];
            for (const [data, binary] of exchanges) {
              ws.send(data);
              const [got, isBinary] = await messages.next();
              assert.equal(isBinary, binary);
              assert.ok(got.equals(Buffer.from(data)), `echo differs for a ${binary ? 'binary' : 'text'} message of ${Buffer.byteLength(data)} bytes`);
            }
            // websockets echoes the whole close frame: code and reason.
            ws.close(4000, 'client bye ✓');
            const [code, reason] = await closes.next();
            assert.equal(code, 4000);
            assert.equal(reason.toString(), 'client bye ✓');
            assert.equal(ws.readyState, WebSocket.CLOSED);
          } finally {
            await terminated(ws);
          }

          // A second connection: the server closes it on request.
          const probe = await openClient(server.url, [], clientOptions);
          try {
            probe.ws.send('close:4001:bye');
            const [code, reason] = await probe.closes.next();
            assert.equal(code, 4001);
            assert.equal(reason.toString(), 'bye');
            assert.equal(probe.messages.pending, 0);
          } finally {
            await terminated(probe.ws);
          }
        } finally {
          await server.close();
        }
      });
    }
  }

  test('subprotocol: the python server picks the one it supports', { skip, timeout: TIMEOUT }, async () => {
    requireDependency(py);
    const server = await startPythonEchoServer({ compression: false, subprotocols: ['chat'] });
    try {
      const { ws, messages, closes } = await openClient(server.url, ['superchat', 'chat'], { perMessageDeflate: false });
      try {
        assert.equal(ws.protocol, 'chat');
        ws.send('with subprotocol');
        assert.equal((await messages.next())[0].toString(), 'with subprotocol');
        ws.close(1000);
        assert.equal((await closes.next())[0], 1000);
      } finally {
        await terminated(ws);
      }
    } finally {
      await server.close();
    }
  });

  test('close probe: the client\'s close event gets 4001 \'bye\' and wasClean', { skip, timeout: TIMEOUT }, async () => {
    requireDependency(py);
    const server = await startPythonEchoServer({ compression: false });
    try {
      const ws = new WebSocket(server.url, { perMessageDeflate: false });
      try {
        const event = await new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve, reject) => {
          ws.onerror = (e) => reject(e.error);
          ws.onopen = () => ws.send('close:4001:bye');
          ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
        });
        assert.deepEqual(event, { code: 4001, reason: 'bye', wasClean: true });
      } finally {
        await terminated(ws);
      }
    } finally {
      await server.close();
    }
  });
});

function pattern256(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}
