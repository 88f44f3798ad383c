// The drop-in promise, checked by observation: one scenario, written once
// against the ws API, run with every pairing of {ws, hyperws} client and
// {ws, hyperws} server. Each side's event log must equal the ws <-> ws log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocket as WsWebSocket, WebSocketServer as WsWebSocketServer } from 'ws';
import { WebSocket as OurWebSocket, WebSocketServer as OurWebSocketServer } from '../../src/index.js';

const T = { timeout: 30_000 };

/** The part of the ws API the scenario uses, implemented by both libraries. */
interface Socket {
  readonly protocol: string;
  readonly extensions: string;
  readonly readyState: number;
  on(event: string, listener: (...args: any[]) => void): unknown;
  send(data: unknown, options?: { binary?: boolean; fin?: boolean }): void;
  ping(data?: unknown): void;
  close(code?: number, reason?: string): void;
}
type ClientCtor = new (url: string, protocols?: string[], options?: object) => Socket;
interface Server {
  on(event: string, listener: (...args: any[]) => void): unknown;
  address(): AddressInfo | string | null;
  close(cb?: () => void): void;
}
type ServerCtor = new (options: object) => Server;

const clients: Record<string, ClientCtor> = {
  ws: WsWebSocket as unknown as ClientCtor,
  hyperws: OurWebSocket as unknown as ClientCtor,
};
const servers: Record<string, ServerCtor> = {
  ws: WsWebSocketServer as unknown as ServerCtor,
  hyperws: OurWebSocketServer as unknown as ServerCtor,
};

const show = (data: unknown): string =>
  Buffer.isBuffer(data) ? `Buffer(${data.toString('hex')})` : `${typeof data}(${String(data)})`;

interface Logs {
  client: string[];
  server: string[];
}

async function startServer(Server: ServerCtor, options: object = {}): Promise<{ server: Server; url: string; log: string[] }> {
  const server = new Server({ port: 0, host: '127.0.0.1', ...options });
  await once(server as unknown as NodeJS.EventEmitter, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `ws://127.0.0.1:${port}`, log: [] };
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Echo scenario: subprotocols, text, binary, a fragmented message, a ping,
 * then a close started by `closer` with a code and a reason.
 */
async function echoScenario(Client: ClientCtor, Server: ServerCtor, closer: 'client' | 'server'): Promise<Logs> {
  const s = await startServer(Server);
  const serverDone = new Promise<void>((resolve) => {
    s.server.on('connection', (ws: Socket, req: IncomingMessage) => {
      // The header's spelling differs ("chat,superchat" from ws, "chat, superchat" from us; both
      // valid RFC 7230 lists): what the server sees is the parsed list.
      const offered = String(req.headers['sec-websocket-protocol']).split(/\s*,\s*/).join('|');
      s.log.push(`connection ${req.url} protocol=${ws.protocol} offered=${offered}`);
      ws.on('message', (data: unknown, isBinary: boolean) => {
        s.log.push(`message ${show(data)} binary=${isBinary}`);
        if (String(data) === 'close please') ws.close(4001, 'server bye');
        else ws.send(data, { binary: isBinary });
      });
      ws.on('ping', (data: Buffer) => s.log.push(`ping ${show(data)}`));
      ws.on('close', (code: number, reason: Buffer) => {
        s.log.push(`close ${code} ${show(reason)} readyState=${ws.readyState}`);
        resolve();
      });
      ws.on('error', (e: Error) => s.log.push(`error ${e.message}`));
    });
  });
  const log: string[] = [];
  try {
    const client = new Client(`${s.url}/echo?room=1`, ['chat', 'superchat']);
    const clientDone = new Promise<void>((resolve) => {
      let received = 0;
      client.on('open', () => {
        log.push(`open protocol=${client.protocol} extensions=${client.extensions} readyState=${client.readyState}`);
        client.send('hello');
      });
      client.on('message', (data: unknown, isBinary: boolean) => {
        log.push(`message ${show(data)} binary=${isBinary}`);
        received++;
        if (received === 1) client.send(Buffer.from([1, 2, 3]));
        else if (received === 2) {
          client.send('frag-', { fin: false });
          client.send('ment', { fin: true });
        } else if (received === 3) client.ping('are you there');
      });
      client.on('pong', (data: Buffer) => {
        log.push(`pong ${show(data)}`);
        if (closer === 'client') {
          client.close(4000, 'client bye');
          log.push(`closing readyState=${client.readyState}`);
        } else client.send('close please');
      });
      client.on('close', (code: number, reason: Buffer) => {
        log.push(`close ${code} ${show(reason)} readyState=${client.readyState}`);
        resolve();
      });
      client.on('error', (e: Error) => log.push(`error ${e.message}`));
    });
    await Promise.all([clientDone, serverDone]);
    return { client: log, server: s.log };
  } finally {
    await stopServer(s.server);
  }
}

/** A verifyClient refusal, seen from the client. */
async function refusalScenario(Client: ClientCtor, Server: ServerCtor): Promise<Logs> {
  const s = await startServer(Server, { verifyClient: () => false });
  s.server.on('connection', () => s.log.push('connection'));
  const log: string[] = [];
  try {
    const client = new Client(s.url);
    client.on('open', () => log.push('open'));
    client.on('error', (e: Error) => log.push(`error ${e.message}`));
    await new Promise<void>((resolve) =>
      client.on('close', (code: number, reason: Buffer) => {
        log.push(`close ${code} ${show(reason)} readyState=${client.readyState}`);
        resolve();
      }),
    );
    return { client: log, server: s.log };
  } finally {
    await stopServer(s.server);
  }
}

const pairings = Object.keys(clients).flatMap((c) => Object.keys(servers).map((s) => [c, s] as const));

for (const closer of ['client', 'server'] as const) {
  test(`echo scenario, ${closer} closes: every client/server pairing logs what ws <-> ws logs`, T, async () => {
    const reference = await echoScenario(clients['ws']!, servers['ws']!, closer);
    // The reference itself, spelled out: a change in ws would show here first.
    const hex = (text: string): string => Buffer.from(text).toString('hex');
    const closeLine = closer === 'client' ? `close 4000 Buffer(${hex('client bye')})` : `close 4001 Buffer(${hex('server bye')})`;
    assert.deepEqual(reference.client, [
      'open protocol=chat extensions= readyState=1',
      'message Buffer(68656c6c6f) binary=false',
      'message Buffer(010203) binary=true',
      'message Buffer(667261672d6d656e74) binary=false',
      'pong Buffer(61726520796f75207468657265)',
      ...(closer === 'client' ? ['closing readyState=2'] : []),
      `${closeLine} readyState=3`,
    ]);
    assert.equal(reference.server[0], 'connection /echo?room=1 protocol=chat offered=chat|superchat');
    assert.equal(reference.server.at(-1), `${closeLine} readyState=3`);
    for (const [c, s] of pairings) {
      const logs = await echoScenario(clients[c]!, servers[s]!, closer);
      assert.deepEqual(logs, reference, `${c} client <-> ${s} server`);
    }
  });
}

test('verifyClient refusal: every pairing reports the same error and close', T, async () => {
  const reference = await refusalScenario(clients['ws']!, servers['ws']!);
  assert.deepEqual(reference, {
    client: ['error Unexpected server response: 401', 'close 1006 Buffer() readyState=3'],
    server: [],
  });
  for (const [c, s] of pairings) {
    assert.deepEqual(await refusalScenario(clients[c]!, servers[s]!), reference, `${c} client <-> ${s} server`);
  }
});
