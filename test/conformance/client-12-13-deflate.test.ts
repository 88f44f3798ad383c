// Autobahn 12.x / 13.x style, client side: permessage-deflate (RFC 7692) on
// our WebSocket client.
//
// 12.x / 13.x: a `ws` echo server configured per case (context takeover on
// or off, window bits 8 to 15) and our client sending 10 messages of each
// size from 16 bytes to 128 KiB, text (.1) and binary (.2); every echo is
// checked, the exact response header too, and the wire byte counts prove
// compression both ways.
//
// Raw cases: a hand-written server answers with invalid or unrequested
// permessage-deflate responses (our client must emit 'error' naming the
// reason, never 'open'), and sends compressed frames byte by byte.
//
// Over HTTP/2 (client-over-http2.test.ts) the raw cases run again on an
// Extended CONNECT stream of a raw h2c server; the ws echo cases do not (ws
// has no HTTP/2 server).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import WsWebSocket, { WebSocketServer as WsWebSocketServer } from 'ws';
import { WebSocket, type PerMessageDeflateOptions } from '../../src/index.js';
import type { ProtocolError } from '../../src/protocol/errors.js';
import { Inbox, type MessageArgs } from '../interop/helpers.js';
import { ECHO_PER_SIZE, ECHO_SIZES, assertCompressedBothWays, echoEverySize, type WsDeflate } from './deflate-echo.js';
import { Opcode, parseClosePayload, type RawPeer, type RawServer } from '../support/raw-socket.js';
import { caseName, clientOptionsFor, currentTransport, startPeerServer } from './client-harness.js';
import { KiB, MiB, closeOnAbort, compressible, deflateStats, zeroBomb } from '../extensions/permessage-deflate/helpers.js';
import { hex, pseudoRandomBytes } from '../support/bytes.js';

const TIMEOUT = 60_000;
/** The transport this module's cases run over (the harness's, when the module was loaded). */
const over = currentTransport();
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const HELLO = hex('f2 48 cd c9 c9 07 00');

interface ClientCase {
  id: string;
  title: string;
  server: WsDeflate;
  client?: PerMessageDeflateOptions;
  /** Our exact offer. */
  offer: string;
  /** ws's exact response. */
  response: string;
}

const DEFAULT_OFFER = 'permessage-deflate; client_max_window_bits';
const CASES: ClientCase[] = [
  { id: '13.1', title: 'ws server defaults (context takeover both ways)', server: {}, offer: DEFAULT_OFFER, response: 'permessage-deflate' },
  {
    id: '13.2',
    title: 'client_no_context_takeover imposed',
    server: { clientNoContextTakeover: true },
    offer: DEFAULT_OFFER,
    response: 'permessage-deflate; client_no_context_takeover',
  },
  {
    id: '13.3',
    title: 'server_no_context_takeover',
    server: { serverNoContextTakeover: true },
    offer: DEFAULT_OFFER,
    response: 'permessage-deflate; server_no_context_takeover',
  },
  {
    id: '13.4',
    title: 'server_max_window_bits=9',
    server: { serverMaxWindowBits: 9 },
    offer: DEFAULT_OFFER,
    response: 'permessage-deflate; server_max_window_bits=9',
  },
  {
    id: '13.5',
    title: 'server_max_window_bits=15 + client_max_window_bits=15',
    server: { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    offer: DEFAULT_OFFER,
    // ws lists client_max_window_bits first when it answers the offer's own parameter.
    response: 'permessage-deflate; client_max_window_bits=15; server_max_window_bits=15',
  },
  {
    id: '13.6',
    title: 'client_max_window_bits=9 imposed',
    server: { clientMaxWindowBits: 9 },
    offer: DEFAULT_OFFER,
    response: 'permessage-deflate; client_max_window_bits=9',
  },
  {
    id: '13.7',
    title: 'no context takeover either way, 8-bit windows',
    server: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    offer: DEFAULT_OFFER,
    response: 'permessage-deflate; client_max_window_bits=8; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8',
  },
  {
    id: '13.8',
    title: 'our client asks server_no_context_takeover, server_max_window_bits=10, client_max_window_bits=11',
    server: {},
    client: { serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
    offer: 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
    response: 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
  },
];

/** A ws echo server with `server` options and our client: 10 messages of each size, each echo checked. */
async function echoRun(c: ClientCase, binary: boolean, signal: AbortSignal) {
  const wss = new WsWebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { ...c.server, threshold: 0 } });
  closeOnAbort(signal, () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
  const connections = new Inbox<[WsWebSocket, IncomingMessage]>(wss, 'connection');
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { ...c.client, threshold: 0 } });
  closeOnAbort(signal, () => client.terminate());
  const inbox = new Inbox<MessageArgs>(client, 'message');
  let responseHeader: string | undefined;
  client.once('upgrade', (res: IncomingMessage) => (responseHeader = res.headers['sec-websocket-extensions']));
  let server: WsWebSocket | undefined;
  try {
    const [[srv, req]] = await Promise.all([connections.next(), once(client, 'open')]);
    server = srv;
    srv.on('message', (data: Buffer, isBinary: boolean) => srv.send(data, { binary: isBinary }));
    const totals = await echoEverySize(client, inbox, binary);
    const serverClosed = once(srv, 'close');
    client.close(1000);
    const [[code]] = await Promise.all([once(client, 'close'), serverClosed]);
    assert.equal(code, 1000);
    return {
      offer: req.headers['sec-websocket-extensions'],
      response: responseHeader,
      clientExtensions: client.extensions,
      serverExtensions: srv.extensions,
      ...totals,
    };
  } finally {
    inbox.dispose();
    connections.dispose();
    for (const ws of [client, server]) {
      if (ws !== undefined && ws.readyState !== ws.CLOSED) {
        const closed = once(ws, 'close');
        ws.terminate();
        await closed;
      }
    }
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

describe('12.x / 13.x, our client -> ws echo server', () => {
  for (const c of over === 'tcp' ? CASES : []) {
    for (const kind of ['text', 'binary'] as const) {
      const sub = kind === 'text' ? 1 : 2;
      test(`${c.id}.${sub} ${c.title}, ${kind}: ${ECHO_PER_SIZE} messages of each size ${ECHO_SIZES[0]}..${ECHO_SIZES.at(-1)} echoed`, { timeout: TIMEOUT }, async (t) => {
        const r = await echoRun(c, kind === 'binary', t.signal);
        assert.equal(r.offer, c.offer, 'our offer');
        assert.equal(r.response, c.response, 'ws response');
        assert.equal(r.clientExtensions, 'permessage-deflate');
        assert.equal(r.serverExtensions, 'permessage-deflate');
        assertCompressedBothWays(r);
      });
    }
  }
});

// ------------------------------------------------------------------ raw cases

/** What our client did against a raw server. */
interface Outcome {
  opened: boolean;
  errors: Error[];
  close: [number, string];
}

/** Our client against a raw server whose connection handler is `peerScript`. */
async function withRawServer(
  signal: AbortSignal,
  peerScript: (peer: RawPeer) => Promise<void>,
  run: (server: RawServer) => Promise<void>,
): Promise<void> {
  const server = await startPeerServer(peerScript, over);
  closeOnAbort(signal, () => {
    for (const ws of clients) ws.terminate();
    return server.close();
  });
  try {
    await run(server);
    await server.idle();
    assert.deepEqual(server.errors, [], 'raw server script errors');
    // The case really ran over the transport it is named after.
    assert.deepEqual(server.peers.map((p) => p.request?.httpVersion), [over === 'h2' ? '2.0' : '1.1']);
  } finally {
    await server.close();
  }
}

/** Connect, record 'open', every 'error', and 'close'. */
/** Every client connectAndRecord made: terminated if a test is cancelled. */
const clients = new Set<WebSocket>();

async function connectAndRecord(url: string, options: { perMessageDeflate?: boolean | PerMessageDeflateOptions; maxPayload?: number } = {}) {
  const client = new WebSocket(url, clientOptionsFor(options, over));
  clients.add(client);
  client.once('close', () => clients.delete(client));
  const outcome: Outcome = { opened: false, errors: [], close: [0, ''] };
  const messages = new Inbox<[Buffer, boolean]>(client, 'message');
  client.on('open', () => (outcome.opened = true));
  client.on('error', (error: Error) => outcome.errors.push(error));
  const closed = new Promise<Outcome>((resolve) =>
    client.once('close', (code: number, reason: Buffer) => {
      outcome.close = [code, reason.toString()];
      resolve(outcome);
    }),
  );
  return { client, outcome, closed, messages };
}

describe('our client refuses invalid or unrequested permessage-deflate responses', () => {
  const cases: Array<{ name: string; header: string; client?: boolean | PerMessageDeflateOptions; offer?: string; error: string }> = [
    { name: 'unknown parameter', header: 'permessage-deflate; foo', error: 'Invalid permessage-deflate response: unknown parameter "foo"' },
    {
      name: 'duplicate parameter',
      header: 'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      error: 'Invalid permessage-deflate response: duplicate parameter "server_no_context_takeover"',
    },
    {
      name: 'server_max_window_bits=16',
      header: 'permessage-deflate; server_max_window_bits=16',
      error: 'Invalid permessage-deflate response: invalid value for "server_max_window_bits": 16',
    },
    {
      name: 'server_max_window_bits with a leading zero',
      header: 'permessage-deflate; server_max_window_bits=09',
      error: 'Invalid permessage-deflate response: invalid value for "server_max_window_bits": 09',
    },
    {
      name: 'client_max_window_bits without a value',
      header: 'permessage-deflate; client_max_window_bits',
      error: 'Invalid permessage-deflate response: parameter "client_max_window_bits" needs a value in a response',
    },
    {
      name: 'a value on a flag',
      header: 'permessage-deflate; client_no_context_takeover=1',
      error: 'Invalid permessage-deflate response: parameter "client_no_context_takeover" takes no value',
    },
    { name: 'an extension we did not offer', header: 'x-webkit-deflate-frame', error: 'Server indicated an extension that was not requested' },
    {
      name: 'permessage-deflate accepted twice',
      header: 'permessage-deflate, permessage-deflate',
      error: 'Server accepted the "permessage-deflate" extension more than once',
    },
    {
      name: 'permessage-deflate when we offered nothing (perMessageDeflate: false)',
      header: 'permessage-deflate',
      client: false,
      error: 'Server indicated an extension that was not requested',
    },
    {
      name: 'our server_no_context_takeover request ignored',
      header: 'permessage-deflate',
      client: { serverNoContextTakeover: true },
      offer: 'permessage-deflate; server_no_context_takeover; client_max_window_bits',
      error: 'Invalid permessage-deflate response: server_no_context_takeover was requested but not accepted',
    },
    {
      name: 'server_max_window_bits above our request',
      header: 'permessage-deflate; server_max_window_bits=12',
      client: { serverMaxWindowBits: 10 },
      offer: 'permessage-deflate; server_max_window_bits=10; client_max_window_bits',
      error: 'Invalid permessage-deflate response: server_max_window_bits must be at most 10',
    },
    { name: 'malformed header', header: 'permessage-deflate; =1', error: 'Invalid Sec-WebSocket-Extensions header' },
  ];
  for (const c of cases) {
    test(caseName(`${c.name}: 'error' (${c.error}), 'close' 1006, never 'open'`), { timeout: 20_000 }, async (t) => {
      let offer: string | undefined;
      await withRawServer(
        t.signal,
        async (peer) => {
          const req = await peer.acceptUpgrade({ 'Sec-WebSocket-Extensions': c.header });
          offer = req.headers['sec-websocket-extensions'];
          await peer.waitForEnd(); // the client drops the connection
        },
        async (server) => {
          const { closed, messages } = await connectAndRecord(server.url, c.client === undefined ? {} : { perMessageDeflate: c.client });
          const outcome = await closed;
          messages.dispose();
          assert.equal(outcome.opened, false);
          assert.deepEqual(
            outcome.errors.map((e) => e.message),
            [c.error],
          );
          assert.equal(outcome.close[0], 1006);
        },
      );
      assert.equal(offer, c.client === false ? undefined : (c.offer ?? DEFAULT_OFFER), 'our offer');
    });
  }
});

describe('raw server -> our client: compressed frames', () => {
  /** Accept with `response`, run `script` on the peer; the client records everything. */
  async function rawRun(
    signal: AbortSignal,
    response: string,
    script: (peer: RawPeer) => Promise<void>,
    check: (r: { outcome: Outcome; received: Array<[Buffer, boolean]>; offer: string | undefined }) => void,
    clientOptions: { perMessageDeflate?: boolean | PerMessageDeflateOptions; maxPayload?: number; send?: Array<[Buffer | string, boolean]> } = {},
  ): Promise<void> {
    let offer: string | undefined;
    await withRawServer(
        signal,
      async (peer) => {
        const req = await peer.acceptUpgrade({ 'Sec-WebSocket-Extensions': response });
        offer = req.headers['sec-websocket-extensions'];
        await script(peer);
      },
      async (server) => {
        const { client, closed, messages } = await connectAndRecord(server.url, clientOptions);
        client.on('open', () => {
          for (const [data, binary] of clientOptions.send ?? []) client.send(data, { binary });
        });
        const outcome = await closed;
        const received: Array<[Buffer, boolean]> = [];
        while (messages.pending > 0) {
          const [data, isBinary] = await messages.next();
          received.push([Buffer.from(data), isBinary]);
        }
        messages.dispose();
        check({ outcome, received, offer });
      },
    );
  }

  /** The server's side of a clean close started by the server. */
  async function serverCloses(peer: RawPeer): Promise<void> {
    await peer.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) });
    const echo = await peer.readFrame();
    assert.equal(echo.opcode, Opcode.CLOSE);
    assert.equal(parseClosePayload(echo.payload).code, 1000);
    peer.end();
    await peer.waitForEnd();
  }

  /** The client fails the connection: its Close frame carries `code`, then it closes TCP. */
  async function clientFails(peer: RawPeer, code: number): Promise<void> {
    const frame = await peer.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE);
    assert.equal(frame.masked, true);
    assert.equal(parseClosePayload(frame.payload).code, code);
    await peer.waitForEnd();
    peer.end();
  }

  test(caseName('takeover both ways: "Hello" twice (RFC 7692 7.2.3.2), then a BFINAL message, then more'), { timeout: 20_000 }, async (t) => {
    await rawRun(
      t.signal,
      'permessage-deflate',
      async (peer) => {
        for (const payload of [HELLO, hex('f2 00 11 00 00'), hex('f3 48 cd c9 c9 07 00 00'), HELLO, hex('f2 00 11 00 00')]) {
          await peer.sendFrame({ opcode: Opcode.TEXT, rsv: 4, payload });
        }
        // A compressed message in two frames (RSV1 on the first only).
        await peer.sendFrame({ opcode: Opcode.BINARY, rsv: 4, fin: false, payload: hex('f2 48 cd') });
        await peer.sendFrame({ opcode: Opcode.CONTINUATION, payload: hex('c9 c9 07 00') });
        await serverCloses(peer);
      },
      ({ outcome, received, offer }) => {
        assert.equal(offer, DEFAULT_OFFER);
        assert.deepEqual(outcome, { opened: true, errors: [], close: [1000, ''] });
        assert.deepEqual(
          received.map(([d, b]) => [d.toString(), b]),
          [['Hello', false], ['Hello', false], ['Hello', false], ['Hello', false], ['Hello', false], ['Hello', true]],
        );
      },
    );
  });

  test(caseName('client_max_window_bits=9 imposed: what our client sends inflates with a 9-bit window'), { timeout: 20_000 }, async (t) => {
    // 700-byte blocks repeated: a 15-bit compressor would refer back 700 bytes, out of a 512-byte window.
    const block = pseudoRandomBytes(700, 1);
    const data = Buffer.concat(Array.from({ length: 20 }, () => block));
    await rawRun(
      t.signal,
      'permessage-deflate; client_max_window_bits=9',
      async (peer) => {
        for (let i = 0; i < 2; i++) {
          const frame = await peer.readFrame();
          assert.deepEqual({ fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked }, { fin: true, rsv: 4, opcode: Opcode.BINARY, masked: true });
          const stream = Buffer.concat([frame.payload, TRAILER]);
          const inflated = inflateRawSync(stream, { windowBits: 9, finishFlush: constants.Z_SYNC_FLUSH });
          assert.ok(inflated.equals(data), `message ${i} inflates with windowBits 9`);
          const stats = deflateStats(stream);
          assert.equal(stats.output, data.length);
          assert.ok(stats.maxDistance <= 512, `longest match distance ${stats.maxDistance} fits a 512-byte window`);
          // The control: the same data compressed with a 15-bit window refers back 700 bytes.
          assert.equal(deflateStats(deflateRawSync(data, { windowBits: 15, finishFlush: constants.Z_SYNC_FLUSH })).maxDistance, 700);
        }
        await serverCloses(peer);
      },
      ({ outcome }) => assert.deepEqual(outcome, { opened: true, errors: [], close: [1000, ''] }),
      { send: [[data, true], [data, true]] },
    );
  });

  test(caseName('RSV1 on a continuation frame from the server -> our client fails with 1002'), { timeout: 20_000 }, async (t) => {
    await rawRun(
      t.signal,
      'permessage-deflate',
      async (peer) => {
        await peer.sendFrame({ opcode: Opcode.TEXT, rsv: 4, fin: false, payload: hex('f2 48 cd') });
        await peer.sendFrame({ opcode: Opcode.CONTINUATION, rsv: 4, payload: hex('c9 c9 07 00') });
        await clientFails(peer, 1002);
      },
      ({ outcome, received }) => {
        assert.equal(outcome.opened, true);
        assert.deepEqual(received, []);
        assert.deepEqual(outcome.errors.map((e) => (e as ProtocolError).code), ['WS_ERR_UNEXPECTED_RSV_1']);
        assert.equal(outcome.close[0], 1002);
      },
    );
  });

  test(caseName('RSV1 on a ping from the server -> 1002'), { timeout: 20_000 }, async (t) => {
    await rawRun(
      t.signal,
      'permessage-deflate',
      async (peer) => {
        await peer.sendFrame({ opcode: Opcode.PING, rsv: 4, payload: 'x' });
        await clientFails(peer, 1002);
      },
      ({ outcome }) => {
        assert.deepEqual(outcome.errors.map((e) => (e as ProtocolError).code), ['WS_ERR_UNEXPECTED_RSV_1']);
        assert.equal(outcome.close[0], 1002);
      },
    );
  });

  test(caseName('RSV1 when the server did not accept the extension -> 1002'), { timeout: 20_000 }, async (t) => {
    let offer: string | undefined;
    await withRawServer(
        t.signal,
      async (peer) => {
        const req = await peer.acceptUpgrade(); // no Sec-WebSocket-Extensions: declined
        offer = req.headers['sec-websocket-extensions'];
        await peer.sendFrame({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
        await clientFails(peer, 1002);
      },
      async (server) => {
        const { client, closed, messages } = await connectAndRecord(server.url);
        const outcome = await closed;
        messages.dispose();
        assert.equal(client.extensions, '');
        assert.equal(outcome.opened, true);
        assert.deepEqual(outcome.errors.map((e) => (e as ProtocolError).code), ['WS_ERR_UNEXPECTED_RSV_1']);
        assert.equal(outcome.close[0], 1002);
      },
    );
    assert.equal(offer, DEFAULT_OFFER);
  });

  test(caseName('invalid DEFLATE data from the server -> 1007'), { timeout: 20_000 }, async (t) => {
    await rawRun(
      t.signal,
      'permessage-deflate',
      async (peer) => {
        await peer.sendFrame({ opcode: Opcode.BINARY, rsv: 4, payload: hex('ff ff ff') });
        await clientFails(peer, 1007);
      },
      ({ outcome }) => {
        assert.deepEqual(outcome.errors.map((e) => (e as ProtocolError).code), ['WS_ERR_INVALID_COMPRESSED_DATA']);
        assert.equal(outcome.close[0], 1007);
      },
    );
  });

  test(caseName('decompression bomb from the server (1 GiB), client maxPayload 1 MiB -> 1009, memory bounded'), { timeout: 60_000 }, async (t) => {
    const bomb = await zeroBomb(1024);
    const before = process.memoryUsage().rss;
    let peak = before;
    let sampling = true;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().rss);
      if (sampling) setImmediate(sample);
    };
    setImmediate(sample);
    try {
      await rawRun(
      t.signal,
        'permessage-deflate',
        async (peer) => {
          await peer.sendFrame({ opcode: Opcode.BINARY, rsv: 4, payload: bomb.payload });
          await clientFails(peer, 1009);
        },
        ({ outcome, received }) => {
          assert.deepEqual(received, []);
          assert.deepEqual(outcome.errors.map((e) => (e as ProtocolError).code), ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']);
          assert.equal(outcome.close[0], 1009);
        },
        { maxPayload: MiB },
      );
    } finally {
      sampling = false;
    }
    assert.ok((peak - before) / MiB < 64, `rss grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
  });

  test(caseName('our client compresses from the threshold on (default 1024 bytes), masked, RSV1 on the first frame only'), { timeout: 20_000 }, async (t) => {
    const small = compressible(1023);
    const big = compressible(64 * KiB);
    await rawRun(
      t.signal,
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      async (peer) => {
        const f1 = await peer.readFrame();
        assert.deepEqual({ rsv: f1.rsv, masked: f1.masked, payload: f1.payload }, { rsv: 0, masked: true, payload: small });
        const f2 = await peer.readFrame();
        assert.deepEqual({ fin: f2.fin, rsv: f2.rsv, masked: f2.masked }, { fin: true, rsv: 4, masked: true });
        assert.ok(f2.payload.length < big.length / 4);
        assert.ok(inflateRawSync(Buffer.concat([f2.payload, TRAILER]), { finishFlush: constants.Z_SYNC_FLUSH }).equals(big));
        await serverCloses(peer);
      },
      ({ outcome }) => assert.deepEqual(outcome, { opened: true, errors: [], close: [1000, ''] }),
      { send: [[small, true], [big, true]] },
    );
  });
});
