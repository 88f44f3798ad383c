// The attack suite's tools: the server process (server-process.ts) forked
// with --expose-gc and asked over IPC for counters and memory after GC; the
// probe that must still connect and echo after each attack; raw attackers
// (slowloris tricklers, frame floods). Nothing here measures time: waits end
// on a condition the server reports, node:test's timeout is the safety net.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, deflateRawSync } from 'node:zlib';
import type { AttackServerConfig, Counters, EndpointName, MemoryReport, Request } from './server-process.js';
import { Opcode, RawClient, connectRaw, encodeFrame, upgradeRequest, type HeaderOverrides } from '../support/raw-socket.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

type Reply = { id: number; counters?: Counters; memory?: MemoryReport; stopped?: boolean };

export class AttackServer {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly ports: Partial<Record<EndpointName, number>>,
  ) {
    child.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.resolve(reply);
    });
    // A server that dies (a crash is a finding) fails the questions still waiting, at once.
    child.once('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`the attack server exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  static async start(config: AttackServerConfig): Promise<AttackServer> {
    const child = fork(new URL('./server-process.js', import.meta.url), [JSON.stringify(config)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const [ready] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [null])])) as [{ ports: AttackServer['ports'] } | null];
    if (ready === null) throw new Error('the attack server exited before it was ready');
    return new AttackServer(child, ready.ports);
  }

  port(endpoint: EndpointName): number {
    const port = this.ports[endpoint];
    if (port === undefined) throw new Error(`no ${endpoint} endpoint`);
    return port;
  }

  private ask(type: Request['type']): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, type } satisfies Request, (error) => error && reject(error));
    });
  }

  async counters(): Promise<Counters> {
    return (await this.ask('counters')).counters!;
  }

  /** Counters and memory, after two full garbage collections in the server. */
  async memory(): Promise<MemoryReport> {
    return (await this.ask('memory')).memory!;
  }

  /** Polls the counters until `done` holds (the test's timeout ends a wait that never does). */
  async until(done: (c: Counters) => boolean): Promise<Counters> {
    for (;;) {
      const c = await this.counters();
      if (done(c)) return c;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    await this.ask('stop').catch(() => {}); // its exit may be seen before its answer
    await exited;
  }
}

/** Heap and off-heap bytes (Buffers) together: what an attacker can make the server hold. */
export const held = (m: MemoryReport): number => m.heapUsed + m.external;

/**
 * A raw client past the handshake (the status must be 101). With `halfOpen`,
 * the peer's FIN does not end our side: the client can leave a closing
 * handshake unfinished.
 */
export async function upgradeRaw(port: number, headers: HeaderOverrides = {}, halfOpen = false): Promise<RawClient> {
  const client = halfOpen ? await connectHalfOpen(port) : await connectRaw(port);
  await client.write(upgradeRequest('/', { Host: `127.0.0.1:${port}`, ...headers }));
  const head = await client.readHttpHead();
  if (head.status !== 101) {
    await client.destroy();
    throw new Error(`expected 101, got ${head.status}\n${head.raw}`);
  }
  return client;
}

async function connectHalfOpen(port: number): Promise<RawClient> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(socket, 'connect');
  return new RawClient(socket);
}

/** The status and headers the server answers `request` with (on a fresh connection, closed after). */
export async function answerTo(port: number, request: string | Buffer): Promise<{ status: number; headers: Record<string, string> }> {
  const client = await connectRaw(port);
  try {
    client.socket.on('error', () => {}); // a reset after the answer is fine
    client.write(request).catch(() => {});
    const head = await client.readHttpHead();
    return { status: head.status, headers: head.headers };
  } finally {
    await client.destroy();
  }
}

/**
 * After an attack: a fresh client upgrades, its message comes back, and the
 * closing handshake completes with the server's echo of 1000.
 */
export async function probe(port: number, payload = 'probe'): Promise<void> {
  const client = await upgradeRaw(port);
  try {
    await client.sendFrame({ opcode: Opcode.TEXT, payload });
    const echo = await client.readFrame();
    assert.equal(echo.opcode, Opcode.TEXT);
    assert.equal(echo.payload.toString(), payload);
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) });
    const close = await client.readFrame();
    assert.equal(close.opcode, Opcode.CLOSE);
    assert.equal(close.payload.readUInt16BE(0), 1000);
    await client.waitForEnd();
  } finally {
    await client.destroy();
  }
}

/** Reads frames until a Close frame; returns its code and how many data frames came before it. */
export async function readUntilClose(client: RawClient): Promise<{ code: number; dataFrames: number; pongs: Buffer[] }> {
  let dataFrames = 0;
  const pongs: Buffer[] = [];
  for (;;) {
    const frame = await client.readFrame();
    if (frame.opcode === Opcode.CLOSE) return { code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005, dataFrames, pongs };
    if (frame.opcode === Opcode.PONG) pongs.push(frame.payload);
    else dataFrames++;
  }
}

/**
 * Slowloris: each client has written a request head without its end; one
 * shared timer adds a byte of a never-ending header to every client, so no
 * idle timer can fire: only a handshake deadline ends them.
 */
export class Trickler {
  private readonly clients = new Set<RawClient>();
  private readonly timer = setInterval(() => {
    for (const c of this.clients) if (!c.socket.destroyed) c.socket.write('a');
  }, 25);

  async add(client: RawClient, head: string): Promise<void> {
    client.socket.on('error', () => {});
    await client.write(`${head}X-Slow: `);
    this.clients.add(client);
    client.socket.once('close', () => this.clients.delete(client));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Masked frames of a client, many at once (one buffer). */
export function frames(count: number, spec: Parameters<typeof encodeFrame>[0]): Buffer {
  const one = encodeFrame(spec);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

/** RFC 7692: a message's compressed bytes, the final 00 00 ff ff removed. */
export function deflateMessage(data: Buffer): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/** Writes `data` in pieces, waiting for each to be accepted (a client that floods as fast as the server reads). */
export async function writeAll(client: RawClient, data: Buffer, piece = 256 * KiB): Promise<void> {
  for (let at = 0; at < data.length; at += piece) await client.write(data.subarray(at, at + piece));
}
