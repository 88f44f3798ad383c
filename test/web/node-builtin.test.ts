// Our WHATWG WebSocket and Node's own (undici, `node --experimental-websocket`
// on Node 20) against the same server scenarios must see the same events.
// Only scenarios where Node 20's client follows the standard are compared
// (it fires no close event after a refused handshake, for one). A Node without
// a built-in WebSocket is a missing dependency (support/system.ts): a loud
// skip locally, a failure under CI=true.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { WebSocket } from '../../src/web/index.js';
import { nodeBuiltinWebSocket, requireDependency, skipReason, type NodeBuiltinWebSocket } from '../support/system.js';
import { startServer, type TestServer } from './helpers.js';

const builtin = nodeBuiltinWebSocket();

type Entry = unknown[];

/** The same logging for both clients (its source runs in the child too): event, readyState, fields. */
function attachLogger(ws: WebSocket, sendOnOpen: string, done: (log: Entry[]) => void): void {
  const log: Entry[] = [];
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('open', () => {
    log.push(['open', ws.readyState, ws.protocol]);
    if (sendOnOpen) ws.send(sendOnOpen);
  });
  ws.addEventListener('message', (event) => {
    const { data, origin } = event as MessageEvent;
    log.push(['message', typeof data === 'string' ? data : [...new Uint8Array(data as ArrayBuffer)], origin]);
  });
  ws.addEventListener('error', () => log.push(['error', ws.readyState]));
  ws.addEventListener('close', (event) => {
    const { code, reason, wasClean } = event as Event & { code: number; reason: string; wasClean: boolean };
    log.push(['close', code, reason, wasClean, ws.readyState]);
    done(log);
  });
}

function runOurs(server: TestServer, sendOnOpen: string): Promise<Entry[]> {
  return new Promise((resolve) => attachLogger(new WebSocket(server.url, ['chat']), sendOnOpen, resolve));
}

function runNodeBuiltin({ node, flags }: NodeBuiltinWebSocket, server: TestServer, sendOnOpen: string): Promise<Entry[]> {
  const script = `(${attachLogger.toString()})(new WebSocket(process.argv[1], ['chat']), process.argv[2], (log) => console.log(JSON.stringify(log)));`;
  const child = spawn(node, [...flags, '-e', script, server.url, sendOnOpen], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`node ${flags.join(' ')} exited with ${status}`));
      else resolve(JSON.parse(out) as Entry[]);
    });
  });
}

async function compare(setup: (server: TestServer) => void, sendOnOpen: string): Promise<Entry[]> {
  const node = requireDependency(builtin); // under CI=true a missing one fails here, before any server starts
  const server = await startServer({ handleProtocols: (protocols) => [...protocols][0] ?? false });
  setup(server);
  const theirs = await runNodeBuiltin(node, server, sendOnOpen);
  const ours = await runOurs(server, sendOnOpen);
  await server.close();
  assert.deepEqual(ours, theirs);
  return ours;
}

describe('same events as Node\'s built-in WebSocket', { skip: skipReason(builtin) }, () => {
  it('messages, then the server closes 4001 "x"', { timeout: 20_000 }, async () => {
    const ours = await compare((server) => {
      server.wss.on('connection', (peer) => {
        peer.send('hello');
        peer.send(Buffer.from([1, 2, 3]));
        peer.close(4001, 'x');
      });
    }, '');
    const origin = new URL(ours[1]![2] as string).origin;
    assert.deepEqual(ours, [
      ['open', 1, 'chat'],
      ['message', 'hello', origin],
      ['message', [1, 2, 3], origin],
      ['close', 4001, 'x', true, 3],
    ]);
  });

  it('the server terminates after open: close 1006, no error event', { timeout: 20_000 }, async () => {
    const ours = await compare((server) => {
      server.wss.on('connection', (peer) => peer.on('message', () => peer.terminate()));
    }, 'kill me');
    assert.deepEqual(ours, [['open', 1, 'chat'], ['close', 1006, '', false, 3]]);
  });

  it('the server closes with a code and no reason', { timeout: 20_000 }, async () => {
    const ours = await compare((server) => {
      server.wss.on('connection', (peer) => peer.on('message', () => peer.close(4000)));
    }, 'close me');
    assert.deepEqual(ours, [['open', 1, 'chat'], ['close', 4000, '', true, 3]]);
  });
});
