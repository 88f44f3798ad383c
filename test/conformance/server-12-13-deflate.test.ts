// Autobahn 12.x / 13.x style: permessage-deflate (RFC 7692) on our server.
//
// 12.x / 13.x: our WebSocketServer echoes every message; the `ws` client,
// configured per case like Autobahn's offers, sends 10 messages of each size
// from 16 bytes to 128 KiB (text for .1, binary for .2) and checks every
// echo, against our default server (no context takeover either way) and
// against one that allows context takeover. Wire byte counts prove the
// traffic really was compressed both ways.
//
// The raw cases drive the server byte by byte: exact negotiation, RSV1 where
// it must not be (1002), invalid DEFLATE data and invalid UTF-8 once
// inflated (1007), a decompression bomb (1009 with bounded memory).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import WsWebSocket from 'ws';
import type { PerMessageDeflateOptions } from '../../src/index.js';
import type { ServerOptions } from '../../src/node/index.js';
import { Inbox, startOurServer, type MessageArgs } from '../interop/helpers.js';
import { ECHO_PER_SIZE, ECHO_SIZES, assertCompressedBothWays, echoEverySize, type WsDeflate } from './deflate-echo.js';
import { Case, Opcode, closePayload, hex, startEchoServer } from './server-harness.js';
import { handshakeRaw, type RawClient } from '../support/raw-socket.js';
import { KiB, MiB, closeOnAbort, compressible, zeroBomb } from '../extensions/permessage-deflate/helpers.js';

const TIMEOUT = 60_000;
const NO_TAKEOVER = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

interface ServerConfig {
  name: string;
  options: true | PerMessageDeflateOptions;
}

const SERVER_DEFAULT: ServerConfig = { name: 'default server', options: true };
const SERVER_TAKEOVER: ServerConfig = {
  name: 'server allowing context takeover, threshold 0',
  options: { serverNoContextTakeover: false, clientNoContextTakeover: false, threshold: 0 },
};

interface Case13 {
  id: string;
  title: string;
  client: WsDeflate;
  /** The offer ws sends. */
  offer: string;
  /** Our exact response, per server config. */
  response: Record<string, string>;
}

const CASES: Case13[] = [
  {
    id: '13.1',
    title: 'default offer',
    client: {},
    offer: 'permessage-deflate; client_max_window_bits',
    response: { [SERVER_DEFAULT.name]: NO_TAKEOVER, [SERVER_TAKEOVER.name]: 'permessage-deflate' },
  },
  {
    id: '13.2',
    title: 'client_no_context_takeover',
    client: { clientNoContextTakeover: true },
    offer: 'permessage-deflate; client_no_context_takeover; client_max_window_bits',
    // The client's flag is a hint: the takeover server lets it keep its context.
    response: { [SERVER_DEFAULT.name]: NO_TAKEOVER, [SERVER_TAKEOVER.name]: 'permessage-deflate' },
  },
  {
    id: '13.3',
    title: 'client_max_window_bits=9',
    client: { clientMaxWindowBits: 9 },
    offer: 'permessage-deflate; client_max_window_bits=9',
    response: { [SERVER_DEFAULT.name]: `${NO_TAKEOVER}; client_max_window_bits=9`, [SERVER_TAKEOVER.name]: 'permessage-deflate; client_max_window_bits=9' },
  },
  {
    id: '13.4',
    title: 'client_max_window_bits=15',
    client: { clientMaxWindowBits: 15 },
    offer: 'permessage-deflate; client_max_window_bits=15',
    response: { [SERVER_DEFAULT.name]: `${NO_TAKEOVER}; client_max_window_bits=15`, [SERVER_TAKEOVER.name]: 'permessage-deflate; client_max_window_bits=15' },
  },
  {
    id: '13.5',
    title: 'client_no_context_takeover + client_max_window_bits=9',
    client: { clientNoContextTakeover: true, clientMaxWindowBits: 9 },
    offer: 'permessage-deflate; client_no_context_takeover; client_max_window_bits=9',
    response: { [SERVER_DEFAULT.name]: `${NO_TAKEOVER}; client_max_window_bits=9`, [SERVER_TAKEOVER.name]: 'permessage-deflate; client_max_window_bits=9' },
  },
  {
    id: '13.6',
    title: 'server_no_context_takeover + client_no_context_takeover + client_max_window_bits=15',
    client: { serverNoContextTakeover: true, clientNoContextTakeover: true, clientMaxWindowBits: 15 },
    offer: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=15',
    response: {
      [SERVER_DEFAULT.name]: `${NO_TAKEOVER}; client_max_window_bits=15`,
      [SERVER_TAKEOVER.name]: 'permessage-deflate; server_no_context_takeover; client_max_window_bits=15',
    },
  },
  {
    id: '13.7',
    title: 'server_no_context_takeover + server_max_window_bits=8 + client_max_window_bits=8',
    client: { serverNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    offer: 'permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8',
    response: {
      [SERVER_DEFAULT.name]: `${NO_TAKEOVER}; server_max_window_bits=8; client_max_window_bits=8`,
      [SERVER_TAKEOVER.name]: 'permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8',
    },
  },
  {
    id: '13.8',
    title: 'server_max_window_bits=9 (server keeps its context when allowed)',
    client: { serverMaxWindowBits: 9 },
    offer: 'permessage-deflate; server_max_window_bits=9; client_max_window_bits',
    response: {
      [SERVER_DEFAULT.name]: `${NO_TAKEOVER}; server_max_window_bits=9`,
      [SERVER_TAKEOVER.name]: 'permessage-deflate; server_max_window_bits=9',
    },
  },
];

/**
 * Our echo server and a ws client with `client` options: 10 messages of each
 * size, each echo checked in order. Returns what the handshake and the wire showed.
 */
async function echoRun(server: ServerConfig, client: WsDeflate, binary: boolean, signal: AbortSignal) {
  const srv = await startOurServer({ perMessageDeflate: server.options });
  const ws = new WsWebSocket(srv.url, { perMessageDeflate: { ...client, threshold: 0 } });
  closeOnAbort(signal, () => {
    ws.terminate();
    for (const c of srv.wss.clients) c.terminate();
    return srv.close();
  });
  const inbox = new Inbox<MessageArgs>(ws, 'message');
  let responseHeader: string | undefined;
  ws.once('upgrade', (res) => (responseHeader = res.headers['sec-websocket-extensions']));
  try {
    const [[ours, req]] = await Promise.all([srv.connections.next(), once(ws, 'open')]);
    ours.on('message', (data: Buffer, isBinary: boolean) => ours.send(data, { binary: isBinary }));
    const totals = await echoEverySize(ws, inbox, binary);
    const closed = once(ours, 'close');
    ws.close(1000);
    const [[code]] = await Promise.all([once(ws, 'close'), closed]);
    assert.equal(code, 1000);
    return {
      offer: req.headers['sec-websocket-extensions'],
      response: responseHeader,
      clientExtensions: ws.extensions,
      serverExtensions: ours.extensions,
      ...totals,
    };
  } finally {
    inbox.dispose();
    if (ws.readyState !== ws.CLOSED) {
      const closed = once(ws, 'close');
      ws.terminate();
      await closed;
    }
    await srv.close();
  }
}

for (const server of [SERVER_DEFAULT, SERVER_TAKEOVER]) {
  describe(`12.x / 13.x, ws client -> our echo server (${server.name})`, () => {
    for (const kind of ['text', 'binary'] as const) {
      const sub = kind === 'text' ? 1 : 2;
      test(`12.${sub} ${kind}: ${ECHO_PER_SIZE} compressed messages of each size ${ECHO_SIZES[0]}..${ECHO_SIZES.at(-1)} echoed in order`, { timeout: TIMEOUT }, async (t) => {
        const r = await echoRun(server, {}, kind === 'binary', t.signal);
        assert.equal(r.clientExtensions, 'permessage-deflate');
        assert.equal(r.serverExtensions, 'permessage-deflate');
        // Compressible data: both directions far below the payload size.
        assertCompressedBothWays(r);
      });
    }
    for (const c of CASES) {
      for (const kind of ['text', 'binary'] as const) {
        const sub = kind === 'text' ? 1 : 2;
        test(`${c.id}.${sub} ${c.title}, ${kind}: negotiated exactly, every echo equal`, { timeout: TIMEOUT }, async (t) => {
          const r = await echoRun(server, c.client, kind === 'binary', t.signal);
          assert.equal(r.offer, c.offer, 'ws offer');
          assert.equal(r.response, c.response[server.name], 'our response');
          assert.equal(r.clientExtensions, 'permessage-deflate');
          assert.equal(r.serverExtensions, 'permessage-deflate');
          assertCompressedBothWays(r);
        });
      }
    }
  });
}

// ------------------------------------------------------------------ raw cases

/** permessage-deflate payload of `data` (sync flush, trailer removed), as a peer would send it. */
function deflated(data: Buffer | string): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}
const inflated = (payload: Buffer): Buffer =>
  inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });

const HELLO = hex('f2 48 cd c9 c9 07 00');

/** A raw case: our echo server with `server` options, the client's upgrade carrying `offer` (if any). */
function rawCase(
  name: string,
  setup: { server?: Omit<ServerOptions, 'port'>; offer?: string; timeout?: number },
  body: (c: Case, responseExtensions: string | undefined) => Promise<void>,
): void {
  test(name, { timeout: setup.timeout ?? 20_000 }, async (t) => {
    const server = await startEchoServer(setup.server ?? { perMessageDeflate: true });
    let client: RawClient | undefined;
    closeOnAbort(t.signal, () => {
      void client?.destroy();
      for (const c of server.wss.clients) c.terminate();
      return server.close();
    });
    try {
      client = await handshakeRaw(server.port, '/', setup.offer !== undefined ? { 'Sec-WebSocket-Extensions': setup.offer } : {});
      await body(new Case(client, server), client.response!.headers['sec-websocket-extensions']);
    } finally {
      await client?.destroy();
      await server.close();
    }
  });
}

/** The next frame: a compressed (RSV1) unfragmented `opcode` frame inflating to `expected`. */
async function expectCompressed(c: Case, opcode: number, expected: Buffer): Promise<Buffer> {
  const frame = await c.readFrame();
  assert.deepEqual({ fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked }, { fin: true, rsv: 4, opcode, masked: false });
  assert.ok(inflated(frame.payload).equals(expected), 'inflated payload');
  return frame.payload;
}

describe('RFC 7692 raw cases against our server', () => {
  rawCase('negotiation: "permessage-deflate; client_max_window_bits" gets an exact response', { offer: 'permessage-deflate; client_max_window_bits' }, async (c, ext) => {
    assert.equal(ext, NO_TAKEOVER);
    const side = await c.server.connection;
    assert.equal(side.ws.extensions, 'permessage-deflate');
    await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
    await c.expectText('Hello'); // under the 1024-byte threshold: echoed uncompressed
    await c.closeHandshake(1000);
  });

  rawCase(
    'negotiation: first offer invalid (unknown parameter) -> the second is accepted',
    { offer: 'permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=10; client_max_window_bits' },
    async (c, ext) => {
      assert.equal(ext, `${NO_TAKEOVER}; server_max_window_bits=10`);
      await c.send({ opcode: Opcode.BINARY, rsv: 4, payload: HELLO });
      await c.expectBinary('Hello');
      await c.closeHandshake(1000);
    },
  );

  rawCase('negotiation: no valid offer -> declined (no header); RSV1 then fails with 1002', { offer: 'permessage-deflate; server_max_window_bits=16' }, async (c, ext) => {
    assert.equal(ext, undefined);
    assert.equal((await c.server.connection).ws.extensions, '');
    await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
    await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
  });

  rawCase('RSV1 when the client offered nothing -> 1002', {}, async (c, ext) => {
    assert.equal(ext, undefined);
    await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
    await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
  });

  rawCase('RSV1 when the server has perMessageDeflate off -> offer declined, 1002', { server: {}, offer: 'permessage-deflate' }, async (c, ext) => {
    assert.equal(ext, undefined);
    await c.send({ opcode: Opcode.BINARY, rsv: 4, payload: HELLO });
    await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
  });

  rawCase('threshold 0: "Hello" is echoed compressed, exactly f2 48 cd c9 c9 07 00 with RSV1', { server: { perMessageDeflate: { threshold: 0 } }, offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
    const frame = await c.readFrame();
    assert.deepEqual(
      { fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked, payload: frame.payload },
      { fin: true, rsv: 4, opcode: Opcode.TEXT, masked: false, payload: HELLO },
    );
    // An uncompressed message from the client is fine too; its echo is compressed.
    await c.send({ opcode: Opcode.TEXT, payload: 'plain' });
    await expectCompressed(c, Opcode.TEXT, Buffer.from('plain'));
    await c.closeHandshake(1000);
  });

  rawCase('a compressed message in two frames (RSV1 on the first only, RFC 7692 7.2.3.1) is echoed', { offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.TEXT, rsv: 4, fin: false, payload: hex('f2 48 cd') });
    await c.send({ opcode: Opcode.PING, payload: 'between' });
    await c.expectPong('between');
    await c.send({ opcode: Opcode.CONTINUATION, payload: hex('c9 c9 07 00') });
    await c.expectText('Hello');
    await c.closeHandshake(1000);
  });

  rawCase('RSV1 on a continuation frame of a compressed message -> 1002', { offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.TEXT, rsv: 4, fin: false, payload: hex('f2 48 cd') });
    await c.send({ opcode: Opcode.CONTINUATION, rsv: 4, payload: hex('c9 c9 07 00') });
    await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
  });

  rawCase('RSV1 on a continuation frame of an uncompressed message -> 1002', { offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.TEXT, fin: false, payload: 'Hel' });
    await c.send({ opcode: Opcode.CONTINUATION, rsv: 4, payload: 'lo' });
    await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
  });

  for (const [name, opcode] of [
    ['ping', Opcode.PING],
    ['pong', Opcode.PONG],
    ['close', Opcode.CLOSE],
  ] as const) {
    rawCase(`RSV1 on a ${name} (control frame) -> 1002`, { offer: 'permessage-deflate' }, async (c) => {
      await c.send({ opcode, rsv: 4, payload: opcode === Opcode.CLOSE ? closePayload(1000) : 'x' });
      await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
    });
  }

  rawCase('invalid DEFLATE data -> 1007', { offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.BINARY, rsv: 4, payload: hex('ff ff ff ff') });
    await c.expectFailure(1007, 'WS_ERR_INVALID_COMPRESSED_DATA');
  });

  rawCase('a back-reference before the first byte (needs a window we never had) -> 1007', { offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: hex('f2 00 11 00 00') });
    await c.expectFailure(1007, 'WS_ERR_INVALID_COMPRESSED_DATA');
  });

  rawCase('compressed text that inflates to invalid UTF-8 -> 1007', { offer: 'permessage-deflate' }, async (c) => {
    await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: deflated(Buffer.from([0x48, 0x69, 0xc0, 0xaf])) });
    await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
  });

  rawCase(
    'compressed payload already larger than maxPayload allows on the wire -> 1009 before inflating',
    { server: { perMessageDeflate: true, maxPayload: KiB }, offer: 'permessage-deflate' },
    async (c) => {
      await c.send({ opcode: Opcode.BINARY, rsv: 4, payload: Buffer.alloc(4 * KiB, 0x55) });
      await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    },
  );

  for (const [mode, fragmented] of [
    ['one frame', false],
    ['1024 frames', true],
  ] as const) {
    rawCase(
      `decompression bomb (~1 MiB inflating to 1 GiB), maxPayload 1 MiB, ${mode} -> 1009, memory bounded`,
      { server: { perMessageDeflate: true, maxPayload: MiB }, offer: 'permessage-deflate', timeout: 60_000 },
      async (c) => {
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
          if (!fragmented) {
            await c.send({ opcode: Opcode.BINARY, rsv: 4, payload: bomb.payload });
          } else {
            const n = bomb.segments.length;
            await c.sendTogether(
              bomb.segments.map((segment, i) => ({
                opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION,
                rsv: i === 0 ? 4 : 0,
                fin: i === n - 1,
                payload: segment,
              })),
            );
          }
          await c.expectFailure(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
        } finally {
          sampling = false;
        }
        const grewMiB = (peak - before) / MiB;
        assert.ok(grewMiB < 64, `rss grew by ${grewMiB.toFixed(1)} MiB`);
      },
    );
  }

  rawCase(
    'a compressed message then a ping in one write: the (compressed) echo comes before the pong',
    { server: { perMessageDeflate: { threshold: 0 } }, offer: 'permessage-deflate' },
    async (c) => {
      const data = compressible(64 * KiB);
      await c.sendTogether([
        { opcode: Opcode.TEXT, rsv: 4, payload: deflated(data) },
        { opcode: Opcode.PING, payload: 'after' },
      ]);
      await expectCompressed(c, Opcode.TEXT, data);
      await c.expectPong('after');
      await c.closeHandshake(1000);
    },
  );

  rawCase(
    'context takeover both ways: "Hello" twice is f2 48 cd c9 c9 07 00 then f2 00 11 00 00 (RFC 7692 7.2.3.2)',
    { server: { perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, threshold: 0 } }, offer: 'permessage-deflate' },
    async (c, ext) => {
      assert.equal(ext, 'permessage-deflate');
      await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
      await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: hex('f2 00 11 00 00') });
      for (const expected of [HELLO, hex('f2 00 11 00 00')]) {
        const frame = await c.readFrame();
        assert.deepEqual({ rsv: frame.rsv, opcode: frame.opcode, payload: frame.payload }, { rsv: 4, opcode: Opcode.TEXT, payload: expected });
      }
      await c.closeHandshake(1000);
    },
  );

  rawCase(
    'context takeover: a message ending with a BFINAL block does not break the next ones',
    { server: { perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false } }, offer: 'permessage-deflate' },
    async (c) => {
      await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: hex('f3 48 cd c9 c9 07 00 00') });
      await c.expectText('Hello');
      await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: HELLO });
      await c.expectText('Hello');
      await c.send({ opcode: Opcode.TEXT, rsv: 4, payload: hex('f2 00 11 00 00') });
      await c.expectText('Hello');
      await c.closeHandshake(1000);
    },
  );
});
