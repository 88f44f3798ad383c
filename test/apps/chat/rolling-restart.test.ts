// A rolling restart of two `hyperws chat --redis` processes while clients
// spread over both send continuously: SIGTERM closes each node's clients with
// 1012, they reconnect to the node that is up, rejoin with `since` and retry
// their unacknowledged send with its `cid`. Afterwards the room's history
// holds every acknowledged message exactly once, numbered without holes.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { CloseCode } from '../../../src/index.js';
import { startRedis } from '../../support/redis.js';
import { redisServerPath, skipReason } from '../../support/system.js';
import { ChatClient, startChatProcess, type ChatProcess, type Msg } from './helpers.js';

const redis = redisServerPath();
const OPTIONS = { skip: skipReason(redis), timeout: 120_000 };
const ROOM = 'rolling';
const SENDERS = 4;
const PER_SENDER = 20; // 80 messages: within the 100 a room retains

/** The nodes clients may connect to (a node being restarted is taken out first). */
class Cluster {
  readonly up: Array<ChatProcess | null>;
  constructor(nodes: ChatProcess[]) {
    this.up = [...nodes];
  }
  url(preferred: number): string | null {
    for (let k = 0; k < this.up.length; k++) {
      const node = this.up[(preferred + k) % this.up.length];
      if (node) return `ws://127.0.0.1:${node.port}/ws`;
    }
    return null;
  }
}

/** A client sending its messages one at a time, each until acknowledged, across reconnections. */
class Sender {
  /** cid -> seq of every acknowledged send. */
  readonly acked = new Map<string, number>();
  readonly closeCodes: number[] = [];
  /** Rejoins that found a gap (the history did not reach back to what it saw). */
  gaps = 0;
  allowance = 0;
  private lastSeq = 0;
  private waiters: Array<() => boolean> = [];

  constructor(
    readonly name: string,
    private home: number,
  ) {}

  /** Resolves once `n` sends are acknowledged. */
  reached(n: number): Promise<void> {
    return this.acked.size >= n ? Promise.resolve() : new Promise((resolve) => this.waiters.push(() => this.acked.size >= n && (resolve(), true)));
  }

  async run(t: TestContext, cluster: Cluster): Promise<void> {
    let i = 0;
    while (this.acked.size < PER_SENDER) {
      const url = cluster.url(this.home);
      let client: ChatClient;
      try {
        client = await ChatClient.connect(t, url!);
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // the node went away meanwhile: try the other
        this.home++;
        continue;
      }
      try {
        client.send({ v: 1, type: 'join', room: ROOM, nick: this.name, since: this.lastSeq });
        const joined = await client.nextOf('joined');
        if (joined['gap'] === true) this.gaps++;
        for (const m of joined['history'] as Msg[]) this.lastSeq = Math.max(this.lastSeq, m['seq']);
        while (this.acked.size < PER_SENDER) {
          while (this.acked.size >= this.allowance) await new Promise<void>((r) => this.waiters.push(() => (this.acked.size < this.allowance ? (r(), true) : false)));
          // The same cid until acknowledged: a retry after a reconnection is stored once.
          const cid = `${this.name}-${i}`;
          client.send({ v: 1, type: 'message', text: cid, cid });
          const ack = await client.nextOf('ack', (m) => m['cid'] === cid);
          this.acked.set(cid, ack['message']['seq']);
          this.lastSeq = Math.max(this.lastSeq, ack['message']['seq']);
          i++;
          this.wake();
        }
        client.ws.close(1000);
        return;
      } catch {
        // Closed under us (the node restarts): note how, and go on elsewhere.
        this.closeCodes.push((await client.closed).code);
        this.home++;
      }
    }
  }

  /** Let it send up to `n` acknowledged messages in all. */
  allow(n: number): void {
    this.allowance = n;
    this.wake();
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => !w());
  }
}

describe('chat rolling restart', () => {
  test('two nodes restarted in turn under continuous sends: no acknowledged message lost or duplicated', OPTIONS, async (t) => {
    const server = await startRedis();
    t.after(() => server.close());
    const start = () => startChatProcess(t, ['--port', '0', '--redis', server.url]);
    const cluster = new Cluster([await start(), await start()]);
    const senders = Array.from({ length: SENDERS }, (_, k) => new Sender(`s${k}`, k));
    const done = senders.map((s) => s.run(t, cluster));

    const restart = async (index: number, allowance: number) => {
      const node = cluster.up[index]!;
      cluster.up[index] = null; // reconnecting clients go to the other node
      for (const s of senders) s.allow(allowance); // sends go on while this node drains
      assert.equal(await node.stop('SIGTERM'), 0);
      cluster.up[index] = await start();
    };
    for (const s of senders) s.allow(6);
    await Promise.all(senders.map((s) => s.reached(6)));
    await restart(0, 13);
    await Promise.all(senders.map((s) => s.reached(13)));
    await restart(1, PER_SENDER);
    await Promise.all(done);

    // Every client on a restarted node was told to reconnect with 1012, never dropped.
    const codes = senders.flatMap((s) => s.closeCodes);
    assert.ok(codes.length >= SENDERS, `each node's clients were closed by its restart: ${codes}`);
    assert.ok(codes.every((c) => c === CloseCode.ServiceRestart), `close codes ${codes}`);

    const reader = await ChatClient.connect(t, cluster.url(0)!);
    reader.send({ v: 1, type: 'join', room: ROOM, nick: 'reader', since: 0 });
    const joined = await reader.nextOf('joined');
    const history = joined['history'] as Msg[];
    assert.equal(joined['gap'], false);
    assert.deepEqual(
      history.map((m) => m['seq']),
      Array.from({ length: SENDERS * PER_SENDER }, (_, k) => k + 1),
      'numbered 1..80 without holes: nothing stored twice',
    );
    const stored = new Map(history.map((m) => [m['text'] as string, m['seq'] as number]));
    assert.equal(stored.size, history.length, 'no text twice');
    for (const s of senders) {
      assert.equal(s.acked.size, PER_SENDER);
      assert.equal(s.gaps, 0, `${s.name} resumed without a gap each time`);
      for (const [cid, seq] of s.acked) assert.equal(stored.get(cid), seq, `${cid}: acknowledged as ${seq}, stored as ${stored.get(cid)}`);
    }
  });
});
