// Interop with the `ws` package (v8), both ways: our WebSocketServer with a
// ws client, and our client with a ws WebSocketServer. Every scenario runs
// against both pairings with permessage-deflate off on the ws side (servers
// of both kinds default to off); separate tests check that our server
// declines a ws client's offer by default, and that compressed traffic
// interoperates when both sides enable it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once, type EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import WsWebSocket, { WebSocketServer as WsWebSocketServer } from 'ws';
import { WebSocket as OurWebSocket } from '../../src/index.js';
import { Inbox, asciiText, pattern, startOurServer, terminated, type CloseArgs, type MessageArgs } from './helpers.js';

/** The API both implementations share (what the scenarios use). */
interface Peer extends EventEmitter {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  send(data: unknown, options?: { binary?: boolean; fin?: boolean }): void;
  ping(data?: unknown): void;
  pong(data?: unknown): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

interface Pair {
  client: Peer;
  /** The server's side of the same connection. */
  server: Peer;
  /** The upgrade request as the server saw it. */
  req: IncomingMessage;
  dispose(): Promise<void>;
}

interface PairOptions {
  /** Subprotocols the client offers. */
  protocols?: string[];
  /** Server-side subprotocol choice (default: each server's own default). */
  handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
  /** The client's perMessageDeflate option (default: false for ws, our default (offer) for hyperws). */
  clientPerMessageDeflate?: boolean;
  /** The server's perMessageDeflate option (default false on both). */
  serverPerMessageDeflate?: boolean;
}

interface Setup {
  name: string;
  open(options?: PairOptions): Promise<Pair>;
}

const TIMEOUT = 60_000;

const ourServerWsClient: Setup = {
  name: 'our WebSocketServer <- ws client',
  async open(options = {}) {
    const srv = await startOurServer({
      perMessageDeflate: options.serverPerMessageDeflate ?? false,
      ...(options.handleProtocols ? { handleProtocols: options.handleProtocols } : {}),
    });
    const client = new WsWebSocket(srv.url, options.protocols ?? [], {
      perMessageDeflate: options.clientPerMessageDeflate ?? false,
    });
    try {
      const [[server, req]] = await Promise.all([srv.connections.next(), once(client, 'open')]);
      return {
        client: client as unknown as Peer,
        server: server as unknown as Peer,
        req,
        async dispose() {
          await Promise.all([terminated(client), terminated(server)]);
          await srv.close();
        },
      };
    } catch (error) {
      client.terminate();
      await srv.close();
      throw error;
    }
  },
};

const wsServerOurClient: Setup = {
  name: 'ws WebSocketServer <- our client',
  async open(options = {}) {
    const wss = new WsWebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: options.serverPerMessageDeflate ?? false,
      ...(options.handleProtocols ? { handleProtocols: options.handleProtocols } : {}),
    });
    const connections = new Inbox<[WsWebSocket, IncomingMessage]>(wss, 'connection');
    await once(wss, 'listening');
    const port = (wss.address() as AddressInfo).port;
    const client = new OurWebSocket(
      `ws://127.0.0.1:${port}/`,
      options.protocols ?? [],
      options.clientPerMessageDeflate === undefined ? {} : { perMessageDeflate: options.clientPerMessageDeflate },
    );
    const closeServer = async (): Promise<void> => {
      connections.dispose();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    };
    try {
      const [[server, req]] = await Promise.all([connections.next(), once(client, 'open')]);
      return {
        client: client as unknown as Peer,
        server: server as unknown as Peer,
        req,
        async dispose() {
          await Promise.all([terminated(client), terminated(server)]);
          await closeServer();
        },
      };
    } catch (error) {
      if (client.readyState !== OurWebSocket.CLOSED) client.terminate();
      await closeServer();
      throw error;
    }
  },
};

/** Opens a pair, runs `fn`, always disposes. */
async function withPair(setup: Setup, options: PairOptions, fn: (pair: Pair) => Promise<void>): Promise<void> {
  const pair = await setup.open(options);
  try {
    await fn(pair);
  } finally {
    await pair.dispose();
  }
}

/** Echo every message back with the same type. */
function echo(peer: Peer): void {
  peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(data, { binary: isBinary }));
}

const BINARY_SIZES = [0, 125, 126, 65_535, 65_536, 1024 * 1024, 16 * 1024 * 1024];

for (const setup of [ourServerWsClient, wsServerOurClient]) {
  describe(`ws interop: ${setup.name}`, () => {
    test('text messages (ASCII, empty, multi-byte UTF-8) go both ways intact', { timeout: TIMEOUT }, async () => {
      await withPair(setup, {}, async ({ client, server }) => {
        const atServer = new Inbox<MessageArgs>(server, 'message');
        const atClient = new Inbox<MessageArgs>(client, 'message');
        echo(server);
        for (const text of ['hello', '', 'héllo wörld ✓ 🎉', asciiText(70_000)]) {
          client.send(text);
          const [got, gotBinary] = await atServer.next();
          assert.equal(gotBinary, false);
          assert.equal(got.toString('utf8'), text);
          const [back, backBinary] = await atClient.next();
          assert.equal(backBinary, false);
          assert.equal(back.toString('utf8'), text);
        }
        assert.equal(atServer.pending + atClient.pending, 0);
      });
    });

    test(`binary messages of ${BINARY_SIZES.join(', ')} bytes go both ways intact`, { timeout: 120_000 }, async () => {
      await withPair(setup, {}, async ({ client, server }) => {
        const atServer = new Inbox<MessageArgs>(server, 'message');
        const atClient = new Inbox<MessageArgs>(client, 'message');
        echo(server);
        for (const size of BINARY_SIZES) {
          const payload = pattern(size, size);
          client.send(payload);
          const [got, gotBinary] = await atServer.next();
          assert.equal(gotBinary, true, `size ${size}`);
          assert.equal(got.length, size);
          assert.ok(got.equals(payload), `server got different bytes for size ${size}`);
          const [back, backBinary] = await atClient.next();
          assert.equal(backBinary, true, `size ${size}`);
          assert.equal(back.length, size);
          assert.ok(back.equals(payload), `client got different bytes for size ${size}`);
        }
        assert.equal(atServer.pending + atClient.pending, 0);
      });
    });

    test('fragmented sends (fin: false) arrive as one message, with a ping interleaved', { timeout: TIMEOUT }, async () => {
      await withPair(setup, {}, async ({ client, server }) => {
        const atServer = new Inbox<MessageArgs>(server, 'message');
        const pings = new Inbox<[Buffer]>(server, 'ping');
        client.send('frag', { fin: false });
        client.send('men', { fin: false });
        client.ping('between fragments');
        client.send('ted ✓', { fin: true });
        client.send(Buffer.from([1, 2, 3]), { binary: true, fin: false });
        client.send(Buffer.alloc(0), { binary: true, fin: false });
        client.send(pattern(70_000, 7), { binary: true, fin: true });
        const [ping] = await pings.next();
        assert.equal(ping.toString(), 'between fragments');
        const [text, textBinary] = await atServer.next();
        assert.equal(textBinary, false);
        assert.equal(text.toString('utf8'), 'fragmented ✓');
        const [bin, binBinary] = await atServer.next();
        assert.equal(binBinary, true);
        assert.ok(bin.equals(Buffer.concat([Buffer.from([1, 2, 3]), pattern(70_000, 7)])));
        // One more whole message proves the fragment state was reset.
        client.send('after');
        const [after] = await atServer.next();
        assert.equal(after.toString(), 'after');
        assert.equal(atServer.pending + pings.pending, 0);
      });
    });

    test('ping from the client: the server sees its payload and the client gets the same pong', { timeout: TIMEOUT }, async () => {
      await withPair(setup, {}, async ({ client, server }) => {
        const serverPings = new Inbox<[Buffer]>(server, 'ping');
        const clientPongs = new Inbox<[Buffer]>(client, 'pong');
        const payload = pattern(125, 1);
        client.ping(payload);
        client.ping();
        assert.ok((await serverPings.next())[0].equals(payload));
        assert.ok((await clientPongs.next())[0].equals(payload));
        assert.equal((await serverPings.next())[0].length, 0);
        assert.equal((await clientPongs.next())[0].length, 0);
      });
    });

    test('ping from the server: the client sees its payload and the server gets the same pong', { timeout: TIMEOUT }, async () => {
      await withPair(setup, {}, async ({ client, server }) => {
        const clientPings = new Inbox<[Buffer]>(client, 'ping');
        const serverPongs = new Inbox<[Buffer]>(server, 'pong');
        server.ping('server ping ✓');
        assert.equal((await clientPings.next())[0].toString(), 'server ping ✓');
        assert.equal((await serverPongs.next())[0].toString(), 'server ping ✓');
        // Unsolicited pong (a heartbeat) reaches the client as a 'pong'.
        const clientPongs = new Inbox<[Buffer]>(client, 'pong');
        server.pong('unsolicited');
        assert.equal((await clientPongs.next())[0].toString(), 'unsolicited');
      });
    });

    for (const closer of ['client', 'server'] as const) {
      const other = closer === 'client' ? 'server' : 'client';
      test(`${closer} closes with 4000 + reason: both sides observe code and reason`, { timeout: TIMEOUT }, async () => {
        await withPair(setup, {}, async (pair) => {
          const closes = { client: new Inbox<CloseArgs>(pair.client, 'close'), server: new Inbox<CloseArgs>(pair.server, 'close') };
          const bye = `${closer} bye ✓`;
          pair[closer].close(4000, bye);
          const [otherCode, otherReason] = await closes[other].next();
          assert.equal(otherCode, 4000);
          assert.equal(otherReason.toString(), bye);
          const [closerCode, closerReason] = await closes[closer].next();
          assert.equal(closerCode, 4000);
          // The closer reports the other side's echo: both ws and hyperws echo code and reason.
          assert.equal(closerReason.toString(), bye);
          assert.equal(pair.client.readyState, 3);
          assert.equal(pair.server.readyState, 3);
        });
      });
    }

    test('messages sent before close() are delivered before the close', { timeout: TIMEOUT }, async () => {
      await withPair(setup, {}, async ({ client, server }) => {
        const atClient = new Inbox<MessageArgs>(client, 'message');
        const clientClose = new Inbox<CloseArgs>(client, 'close');
        const big = pattern(1024 * 1024, 3);
        server.send('one');
        server.send(big);
        server.close(1000, 'done');
        assert.equal((await atClient.next())[0].toString(), 'one');
        assert.ok((await atClient.next())[0].equals(big));
        const [code, reason] = await clientClose.next();
        assert.equal(code, 1000);
        assert.equal(reason.toString(), 'done');
        assert.equal(atClient.pending, 0);
      });
    });

    test('subprotocol: the server default picks the client\'s first offer', { timeout: TIMEOUT }, async () => {
      await withPair(setup, { protocols: ['chat.v2', 'chat.v1'] }, async ({ client, server, req }) => {
        // ws joins with ',' and hyperws with ', ': both are valid list syntax.
        assert.deepEqual(String(req.headers['sec-websocket-protocol']).split(/\s*,\s*/), ['chat.v2', 'chat.v1']);
        assert.equal(client.protocol, 'chat.v2');
        assert.equal(server.protocol, 'chat.v2');
      });
    });

    test('subprotocol: handleProtocols chooses another offered one', { timeout: TIMEOUT }, async () => {
      let offered: string[] = [];
      const handleProtocols = (protocols: Set<string>): string | false => {
        offered = [...protocols];
        return protocols.has('chat.v1') ? 'chat.v1' : false;
      };
      await withPair(setup, { protocols: ['chat.v2', 'chat.v1'], handleProtocols }, async ({ client, server }) => {
        assert.deepEqual(offered, ['chat.v2', 'chat.v1']);
        assert.equal(client.protocol, 'chat.v1');
        assert.equal(server.protocol, 'chat.v1');
        // The connection works after negotiation.
        const atClient = new Inbox<MessageArgs>(client, 'message');
        server.send('negotiated');
        assert.equal((await atClient.next())[0].toString(), 'negotiated');
      });
    });

    test('subprotocol: handleProtocols returning false means none', { timeout: TIMEOUT }, async () => {
      const options: PairOptions = { protocols: ['chat.v2'], handleProtocols: () => false };
      if (setup === ourServerWsClient) {
        // ws's client is stricter than RFC 6455 4.1 (which lets a server pick
        // none): it fails the handshake. Our 101 must simply carry no header.
        await assert.rejects(setup.open(options), { message: 'Server sent no subprotocol' });
        return;
      }
      await withPair(setup, options, async ({ client, server, req }) => {
        assert.equal(req.headers['sec-websocket-protocol'], 'chat.v2');
        assert.equal(client.protocol, '');
        assert.equal(server.protocol, '');
        const atServer = new Inbox<MessageArgs>(server, 'message');
        client.send('no subprotocol');
        assert.equal((await atServer.next())[0].toString(), 'no subprotocol');
      });
    });

    test('subprotocol: none offered, none selected', { timeout: TIMEOUT }, async () => {
      await withPair(setup, {}, async ({ client, server, req }) => {
        assert.equal(req.headers['sec-websocket-protocol'], undefined);
        assert.equal(client.protocol, '');
        assert.equal(server.protocol, '');
        assert.equal(client.extensions, '');
      });
    });
  });
}

describe('ws interop: permessage-deflate offer', () => {
  test('our server ignores a ws client\'s permessage-deflate offer; the client proceeds uncompressed', { timeout: TIMEOUT }, async () => {
    await withPair(ourServerWsClient, { clientPerMessageDeflate: true }, async ({ client, server, req }) => {
      assert.match(String(req.headers['sec-websocket-extensions']), /^permessage-deflate/);
      assert.equal(client.extensions, '');
      assert.equal(server.extensions, '');
      const atServer = new Inbox<MessageArgs>(server, 'message');
      const atClient = new Inbox<MessageArgs>(client, 'message');
      echo(server);
      // Highly compressible and above ws's 1 KiB threshold: would be compressed if negotiated.
      const text = 'a'.repeat(64 * 1024);
      client.send(text);
      assert.equal((await atServer.next())[0].toString(), text);
      assert.equal((await atClient.next())[0].toString(), text);
      const serverClose = new Inbox<CloseArgs>(server, 'close');
      client.close(1000);
      const [code] = await serverClose.next();
      assert.equal(code, 1000);
    });
  });
});

describe('ws interop: permessage-deflate negotiated', () => {
  const setups: Array<[Setup, PairOptions]> = [
    [ourServerWsClient, { serverPerMessageDeflate: true, clientPerMessageDeflate: true }],
    [wsServerOurClient, { serverPerMessageDeflate: true }],
  ];
  for (const [setup, options] of setups) {
    test(`${setup.name}: compressed text, binary, fragments and close`, { timeout: TIMEOUT }, async () => {
      await withPair(setup, options, async ({ client, server, req }) => {
        assert.match(String(req.headers['sec-websocket-extensions']), /^permessage-deflate/);
        assert.match(client.extensions, /^permessage-deflate/);
        assert.match(server.extensions, /^permessage-deflate/);
        const atServer = new Inbox<MessageArgs>(server, 'message');
        const atClient = new Inbox<MessageArgs>(client, 'message');
        echo(server);
        const messages: Array<[string | Buffer, boolean]> = [
          ['hello', false],
          ['héllo wörld ✓ '.repeat(5000), false],
          [Buffer.alloc(0), true],
          [pattern(1024 * 1024, 11), true],
          [Buffer.alloc(4 * 1024 * 1024, 0x61), true],
        ];
        for (const [data, binary] of messages) {
          client.send(data, { binary });
          const [got, gotBinary] = await atServer.next();
          assert.equal(gotBinary, binary);
          assert.ok(got.equals(Buffer.from(data)), `server got different bytes (${Buffer.byteLength(data)} bytes)`);
          const [back, backBinary] = await atClient.next();
          assert.equal(backBinary, binary);
          assert.ok(back.equals(Buffer.from(data)), `client got different bytes (${Buffer.byteLength(data)} bytes)`);
        }
        client.send('compressed ', { fin: false });
        client.send('fragments', { fin: true });
        assert.equal((await atServer.next())[0].toString(), 'compressed fragments');
        assert.equal((await atClient.next())[0].toString(), 'compressed fragments');
        const serverClose = new Inbox<CloseArgs>(server, 'close');
        const clientClose = new Inbox<CloseArgs>(client, 'close');
        client.close(4000, 'deflate bye');
        const [sCode, sReason] = await serverClose.next();
        assert.deepEqual([sCode, sReason.toString()], [4000, 'deflate bye']);
        const [cCode, cReason] = await clientClose.next();
        assert.deepEqual([cCode, cReason.toString()], [4000, 'deflate bye']);
      });
    });
  }
});
