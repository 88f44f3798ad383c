// The Redis adapter against a real redis-server (Debian's package), nothing
// mocked: first two WebSocketServers in this process, each with its own
// adapter (fast, and the internals are at hand), then separate node
// processes (test/pubsub/fixtures/redis-node.ts), the real deployment.
//
// "Exactly once" is checked with a fence rather than by waiting: Redis
// delivers on a channel in the order it executed the PUBLISH commands, so
// after node A publishes m, B receives m, and only then B publishes a fence
// f, A's subscription gets any echo of m before f. A subscriber on A that
// logged [m, f] has therefore seen everything about m it will ever see.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { WebSocket, redisAdapter, type RedisAdapter } from '../../src/index.js';
import { redisServerPath, skipReason } from '../support/system.js';
import { freeTcpPort, startRedis, type RedisServer } from '../support/redis.js';
import { closeClient, closeServer, connectLogging, startServer, waitFor, type LoggingClient, type Received, type Started } from './helpers.js';

const skip = skipReason(redisServerPath());
const T = { timeout: 60_000, skip };
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

let shared: Promise<RedisServer> | undefined;
/** One redis-server for the tests that do not stop it. */
function sharedRedis(): Promise<RedisServer> {
  return (shared ??= startRedis());
}
after(async () => {
  const redis = await shared?.catch(() => undefined); // a failed start failed its test already
  await redis?.close();
});

type Ctx = { after(fn: () => unknown): void };

/** A plain ioredis connection for looking at Redis from outside. */
async function monitor(t: Ctx, url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
  redis.on('error', () => {}); // reconnects while a test restarts the server
  await redis.connect();
  t.after(() => redis.disconnect());
  return redis;
}

/** Channel -> number of subscribed connections, for the channels matching `pattern`. */
async function channelCounts(redis: Redis, pattern = 'hyperws:*'): Promise<Record<string, number>> {
  const channels = ((await redis.pubsub('CHANNELS', pattern)) as string[]).sort();
  if (channels.length === 0) return {};
  const flat = (await redis.pubsub('NUMSUB', ...channels)) as Array<string | number>;
  const out: Record<string, number> = {};
  for (let i = 0; i < flat.length; i += 2) out[String(flat[i])] = Number(flat[i + 1]);
  return out;
}

/** Polls Redis until the subscribed channels are exactly `expected` (channel -> subscribed nodes). */
async function expectChannels(redis: Redis, expected: Record<string, number>, pattern = 'hyperws:*'): Promise<void> {
  let last: Record<string, number> = {};
  const want = JSON.stringify(Object.fromEntries(Object.entries(expected).sort()));
  await waitFor(
    async () => {
      last = await channelCounts(redis, pattern);
      return JSON.stringify(last) === want;
    },
    `Redis channels ${want}`,
    { intervalMs: 10, describe: () => `have ${JSON.stringify(last)}` },
  );
}

interface Node {
  started: Started;
  adapter: RedisAdapter;
}

/** An in-process node: a WebSocketServer with its own Redis adapter, both ready. */
async function startNode(t: Ctx, url: string, options: { prefix?: string; errors?: Error[] } = {}): Promise<Node> {
  const errors = options.errors ?? [];
  const adapter = redisAdapter({ url, ...(options.prefix ? { prefix: options.prefix } : {}), onError: (e) => errors.push(e) });
  const started = await startServer({ adapter });
  t.after(async () => {
    await closeServer(started.wss);
    await adapter.close();
  });
  await adapter.ready;
  return { started, adapter };
}

const texts = (log: Received[]): string[] => log.map((m) => (m.isBinary ? `bin:${m.data.toString('hex')}` : m.data.toString()));

test('a publication on node A reaches the subscribers on A and B exactly once each', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const A = await startNode(t, redis.url);
  const B = await startNode(t, redis.url);
  const a1 = await connectLogging(A.started);
  const a2 = await connectLogging(A.started);
  const b1 = await connectLogging(B.started);
  const bOther = await connectLogging(B.started);
  a1.peer.subscribe('once');
  a2.peer.subscribe('once');
  b1.peer.subscribe('once');
  bOther.peer.subscribe('other');
  await expectChannels(mon, { 'hyperws:once': 2, 'hyperws:other': 1 });

  assert.equal(A.started.wss.publish('once', 'm1'), 2, 'local deliveries on A');
  await b1.waitForCount(1);
  assert.equal(B.started.wss.publish('once', 'fence'), 1);
  await a1.waitForCount(2);
  await a2.waitForCount(2);
  await b1.waitForCount(2);
  assert.deepEqual(texts(a1.log), ['m1', 'fence']);
  assert.deepEqual(texts(a2.log), ['m1', 'fence']);
  assert.deepEqual(texts(b1.log), ['m1', 'fence']);

  // Many publications from both sides: each subscriber sees each one once, each node's in its order.
  for (let i = 0; i < 20; i++) {
    A.started.wss.publish('once', `a${i}`);
    B.started.wss.publish('once', `b${i}`);
  }
  for (const c of [a1, a2, b1]) await c.waitForCount(42);
  assert.equal(B.started.wss.publish('once', 'fence2'), 1);
  // fence2 reaches A after every echo of A's own a0..a19 could have.
  await a1.waitForCount(43);
  A.started.wss.publish('once', 'fence3');
  await b1.waitForCount(44);
  for (const c of [a1, a2, b1]) {
    await c.waitForCount(44);
    const got = texts(c.log).slice(2);
    assert.equal(got.length, 42, `exactly 42 messages, got ${JSON.stringify(got)}`);
    assert.deepEqual(got.filter((m) => m.startsWith('a')), Array.from({ length: 20 }, (_, i) => `a${i}`));
    assert.deepEqual(got.filter((m) => m.startsWith('b')), Array.from({ length: 20 }, (_, i) => `b${i}`));
    assert.deepEqual(got.filter((m) => m.startsWith('fence')).sort(), ['fence2', 'fence3']);
  }
  // A's publications all go through one Redis connection, in order: after
  // this one reaches bOther, nothing of A's 'once' traffic can still come.
  A.started.wss.publish('other', 'other fence');
  await bOther.waitForCount(1);
  assert.deepEqual(texts(bOther.log), ['other fence'], 'a subscriber of another topic got nothing else');
});

test('binary payloads (bytes 0..255), text and the binary flag survive byte-exact across nodes', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const A = await startNode(t, redis.url);
  const B = await startNode(t, redis.url);
  const b1 = await connectLogging(B.started);
  b1.peer.subscribe('bytes');
  await expectChannels(mon, { 'hyperws:bytes': 1 });

  const reversed = Buffer.from(ALL_BYTES).reverse();
  const unicode = 'h\u00e9llo w\u00f6rld \u{1f600} \u4e16\u754c';
  A.started.wss.publish('bytes', ALL_BYTES);
  A.started.wss.publish('bytes', new Uint8Array(reversed).buffer);
  A.started.wss.publish('bytes', unicode);
  A.started.wss.publish('bytes', 'text sent as binary', { binary: true });
  A.started.wss.publish('bytes', Buffer.from('binary sent as text'), { binary: false });
  A.started.wss.publish('bytes', Buffer.alloc(0));
  A.started.wss.publish('bytes', '');
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
  A.started.wss.publish('bytes', big);
  await b1.waitForCount(8);
  const got = b1.log.map((m) => [m.isBinary, m.data.toString('hex')]);
  assert.deepEqual(got, [
    [true, ALL_BYTES.toString('hex')],
    [true, reversed.toString('hex')],
    [false, Buffer.from(unicode).toString('hex')],
    [true, Buffer.from('text sent as binary').toString('hex')],
    [false, Buffer.from('binary sent as text').toString('hex')],
    [true, ''],
    [false, ''],
    [true, big.toString('hex')],
  ]);
});

test('topic names are literal channels: glob characters, spaces and Unicode', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const A = await startNode(t, redis.url);
  const B = await startNode(t, redis.url);
  const topics = ['news.*', 'news.sport', 'a?[b] c', 'caf\u00e9 \u{1f600}'];
  const subs: LoggingClient[] = [];
  for (const topic of topics) {
    const c = await connectLogging(B.started);
    c.peer.subscribe(topic);
    subs.push(c);
  }
  await expectChannels(mon, Object.fromEntries(topics.map((x) => [`hyperws:${x}`, 1])));
  for (const topic of topics) A.started.wss.publish(topic, `to ${topic}`);
  A.started.wss.publish('news.x', 'matches no literal channel');
  A.started.wss.publish('a', 'nor this');
  A.started.wss.publish(topics[3]!, 'last'); // all of A's publications go in order: a fence
  await subs[3]!.waitForCount(2);
  // B has fanned out everything of A's by now; a broadcast on B fences each connection.
  B.started.wss.broadcast('fence');
  for (const [i, c] of subs.entries()) {
    await c.waitForCount(i === 3 ? 3 : 2);
    assert.deepEqual(texts(c.log), i === 3 ? [`to ${topics[i]}`, 'last', 'fence'] : [`to ${topics[i]}`, 'fence'], topics[i]);
  }
});

test('only topics with local subscribers are subscribed in Redis, per node', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const A = await startNode(t, redis.url);
  const B = await startNode(t, redis.url);
  await expectChannels(mon, {});
  assert.equal(A.started.wss.publish('unheard', 'x'), 0, 'publishing subscribes to nothing');

  const a1 = await connectLogging(A.started);
  const a2 = await connectLogging(A.started);
  const b1 = await connectLogging(B.started);
  a1.peer.subscribe('red');
  await expectChannels(mon, { 'hyperws:red': 1 });
  a2.peer.subscribe('red');
  a2.peer.subscribe('green');
  await expectChannels(mon, { 'hyperws:green': 1, 'hyperws:red': 1 });
  b1.peer.subscribe('red');
  await expectChannels(mon, { 'hyperws:green': 1, 'hyperws:red': 2 });

  a1.peer.unsubscribe('red'); // a2 still holds red on A
  a2.peer.unsubscribe('green');
  await expectChannels(mon, { 'hyperws:red': 2 });
  await closeClient(a2.ws); // A's last subscriber of red leaves by closing
  await expectChannels(mon, { 'hyperws:red': 1 });
  a1.peer.subscribe('blue');
  b1.peer.subscribe('blue');
  await expectChannels(mon, { 'hyperws:blue': 2, 'hyperws:red': 1 });

  // The remaining subscription still works end to end.
  A.started.wss.publish('red', 'to b');
  await b1.waitForCount(1);
  assert.deepEqual(texts(b1.log), ['to b']);

  await closeServer(B.started.wss);
  await B.adapter.close();
  await expectChannels(mon, { 'hyperws:blue': 1 });
  await closeClient(a1.ws);
  await expectChannels(mon, {});
});

test('messages that are not hyperws publications, or carry another prefix, are ignored', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const A = await startNode(t, redis.url);
  const other = await startNode(t, redis.url, { prefix: 'otherapp:' });
  const a1 = await connectLogging(A.started);
  const o1 = await connectLogging(other.started);
  a1.peer.subscribe('mixed');
  o1.peer.subscribe('mixed');
  await expectChannels(mon, { 'hyperws:mixed': 1 });
  await expectChannels(mon, { 'otherapp:mixed': 1 }, 'otherapp:*');

  await mon.publish('hyperws:mixed', 'plain text from some other program');
  await mon.publish('hyperws:mixed', Buffer.from([2, 0, ...Buffer.alloc(16), 0x41])); // version 2: not ours
  await mon.publish('hyperws:mixed', Buffer.alloc(5, 1)); // shorter than the header
  other.started.wss.publish('mixed', 'other prefix');
  // A node's well-formed publication, the fence: it comes after the junk on the same channel.
  const B = await startNode(t, redis.url);
  B.started.wss.publish('mixed', 'fence');
  await a1.waitForCount(1);
  assert.deepEqual(texts(a1.log), ['fence']);
  assert.deepEqual(texts(o1.log), ['other prefix'], 'the other prefix only hears its own');
});

test('server.close() releases both Redis connections', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const names = async (): Promise<string[]> =>
    ((await mon.client('LIST')) as string)
      .split('\n')
      .map((l) => /(?:^| )name=(\S*)/.exec(l)?.[1] ?? '')
      .filter((n) => n.startsWith('hyperws-'))
      .sort();
  await waitFor(async () => (await names()).length === 0, 'no hyperws connections from earlier tests');
  const adapter = redisAdapter({ url: redis.url });
  const started = await startServer({ adapter });
  await adapter.ready;
  assert.deepEqual(await names(), ['hyperws-pub', 'hyperws-sub']);
  const c = await connectLogging(started);
  c.peer.subscribe('bye');
  await expectChannels(mon, { 'hyperws:bye': 1 });
  await closeServer(started.wss); // which starts adapter.close() itself
  const closing = adapter.close();
  assert.equal(adapter.close(), closing, 'every close() waits for the same shutdown');
  await closing;
  await waitFor(() => adapter.client?.status === 'end', "the publisher's status 'end'");
  await waitFor(async () => (await names()).length === 0, 'both connections gone from CLIENT LIST');
  await expectChannels(mon, {});
  await adapter.close(); // idempotent
});

test('server.close() closes the adapter even when no topic was ever used', T, async (t) => {
  const redis = await sharedRedis();
  const mon = await monitor(t, redis.url);
  const names = async (): Promise<string[]> =>
    ((await mon.client('LIST')) as string)
      .split('\n')
      .map((l) => /(?:^| )name=(\S*)/.exec(l)?.[1] ?? '')
      .filter((n) => n.startsWith('hyperws-'));
  await waitFor(async () => (await names()).length === 0, 'no hyperws connections from earlier tests');
  const adapter = redisAdapter({ url: redis.url });
  const started = await startServer({ adapter });
  t.after(() => adapter.close());
  await adapter.ready;
  const c = await connectLogging(started); // a client, but no subscribe/publish
  assert.equal((await names()).length, 2);
  await closeServer(started.wss);
  assert.equal(c.ws.readyState, WebSocket.CLOSED);
  await waitFor(async () => (await names()).length === 0, 'the adapter to release its connections', {
    describe: () => `publisher ${adapter.client?.status}`,
  });
});

const LIBRARY = new URL('../../src/index.js', import.meta.url).href;

// Needs no redis-server: nothing listens where the adapter connects.
test('close() while Redis is unreachable resolves and stops reconnecting: the process exits on its own', { timeout: 60_000 }, async (t) => {
  const port = await freeTcpPort(); // nothing listens there
  // A child process: if anything (a reconnect timer, a socket) were left, it would never exit.
  const script = `
    import { WebSocketServer, WebSocket, redisAdapter } from ${JSON.stringify(LIBRARY)};
    const errors = [];
    let onFirstError;
    const firstError = new Promise((resolve) => (onFirstError = resolve));
    const adapter = redisAdapter({ url: 'redis://127.0.0.1:${port}', onError: (e) => { errors.push(e.message); onFirstError(); } });
    const ready = adapter.ready.then(() => 'resolved', (e) => e.message);
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', adapter });
    await new Promise((resolve) => wss.once('listening', resolve));
    const client = new WebSocket('ws://127.0.0.1:' + wss.address().port);
    const [peer] = await new Promise((resolve) => wss.once('connection', (...a) => resolve(a)));
    peer.subscribe('queued'); // a SUBSCRIBE waits in ioredis' offline queue
    const got = new Promise((resolve) => client.once('message', (data) => resolve(String(data))));
    const local = wss.publish('queued', 'local only');
    await firstError; // at least one refused connection
    // Close while ioredis waits to retry: a client closed then emits nothing more ('end' included).
    const pub = adapter.client;
    if (pub.status !== 'reconnecting') await new Promise((resolve) => pub.once('reconnecting', resolve));
    const message = await got;
    wss.close();
    const first = adapter.close();
    const second = adapter.close();
    await first;
    console.log(JSON.stringify({ local, message, same: first === second, dropped: adapter.dropped, refused: /ECONNREFUSED/.test(errors[0]), ready: await ready, reported: errors.filter((m) => !/ECONNREFUSED/.test(m)) }));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  let exit: number | null | undefined;
  child.once('exit', (code) => (exit = code));
  t.after(() => {
    if (exit === undefined) child.kill('SIGKILL');
  });
  await waitFor(() => exit !== undefined, 'the child process to exit by itself after close()', {
    timeoutMs: 20_000,
    intervalMs: 20,
    describe: () => `stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`,
  });
  assert.equal(exit, 0, stderr);
  // `ready` settles (it used to hang), and closing on purpose is not reported as an error.
  assert.deepEqual(JSON.parse(stdout), {
    local: 1,
    message: 'local only',
    same: true,
    dropped: 1,
    refused: true,
    ready: 'The Redis adapter was closed before it connected',
    reported: [],
  });
});

test('redis-server restart: nodes reconnect and resubscribe (with changes made while down); publications meanwhile are dropped, never delivered twice', T, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.close());
  const mon = await monitor(t, redis.url);
  const A = await startNode(t, redis.url);
  const B = await startNode(t, redis.url);
  const a1 = await connectLogging(A.started);
  const b1 = await connectLogging(B.started);
  const b2 = await connectLogging(B.started);
  a1.peer.subscribe('live');
  b1.peer.subscribe('live');
  b2.peer.subscribe('leaving');
  await expectChannels(mon, { 'hyperws:leaving': 1, 'hyperws:live': 2 });
  A.started.wss.publish('live', 'before');
  await b1.waitForCount(1);

  await redis.stop();
  const subscriberOf = (n: Node) => (n.adapter as unknown as { subscriber: { status: string } }).subscriber;
  await waitFor(
    () => [A, B].every((n) => n.adapter.client!.status !== 'ready' && subscriberOf(n).status !== 'ready'),
    'both nodes to notice Redis is gone',
  );
  // While down: local delivery goes on; nothing is forwarded (counted as dropped).
  const droppedBefore = A.adapter.dropped;
  for (let i = 0; i < 5; i++) assert.equal(A.started.wss.publish('live', `down${i}`), 1);
  assert.equal(A.adapter.dropped - droppedBefore, 5);
  // Interest changes while down must be right after the reconnection.
  b2.peer.unsubscribe('leaving');
  b2.peer.subscribe('joined');

  await redis.start();
  await expectChannels(mon, { 'hyperws:joined': 1, 'hyperws:live': 2 });
  // Probe until a publication from A reaches B again (the publisher reconnects on its own schedule).
  let probes = 0;
  await waitFor(
    () => {
      if (b1.log.some((m) => m.data.toString().startsWith('probe'))) return true;
      A.started.wss.publish('live', `probe${probes++}`);
      return false;
    },
    'a probe from A at B',
    { intervalMs: 50, timeoutMs: 30_000 },
  );
  // And the other way round, and the new topic.
  await waitFor(() => B.adapter.client!.status === 'ready', "B's publisher ready");
  B.started.wss.publish('live', 'from b');
  await a1.waitForCount(1 + 5 + probes + 1);
  A.started.wss.publish('joined', 'joined after restart');
  await b2.waitForCount(1);
  // Fence: a publication from B after which A's view is complete, and one from A for B's.
  B.started.wss.publish('live', 'fence-b');
  await a1.waitForCount(1 + 5 + probes + 2);
  A.started.wss.publish('live', 'fence-a');
  await waitFor(() => b1.log.some((m) => m.data.toString() === 'fence-a'), 'fence-a at B');

  const down = Array.from({ length: 5 }, (_, i) => `down${i}`);
  const probeNames = Array.from({ length: probes }, (_, i) => `probe${i}`);
  assert.deepEqual(texts(a1.log), ['before', ...down, ...probeNames, 'from b', 'fence-b', 'fence-a'], 'A: every local publication once, B\'s once');
  const atB = texts(b1.log);
  assert.equal(atB[0], 'before');
  for (const m of down) assert.equal(atB.filter((x) => x === m).length, 0, `${m} (published while down) was dropped`);
  const probesAtB = atB.filter((x) => x.startsWith('probe'));
  assert.equal(new Set(probesAtB).size, probesAtB.length, `no probe twice at B: ${JSON.stringify(probesAtB)}`);
  assert.deepEqual(atB.slice(-3), ['from b', 'fence-b', 'fence-a']);
  assert.deepEqual(texts(b2.log), ['joined after restart']);
});

// ---------------------------------------------------------------- processes

const FIXTURE = fileURLToPath(new URL('./fixtures/redis-node.js', import.meta.url));

interface NodeProcess {
  port: number;
  url: string;
  /** Sends a command line and resolves with the reply line's rest (after `<COMMAND> `). */
  command(name: 'STATS'): Promise<{ dropped: number; pub: string; sub: string; clients: number }>;
  stderr(): string;
  stop(): Promise<void>;
}

async function spawnNode(t: Ctx, redisUrl: string): Promise<NodeProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--enable-source-maps', FIXTURE, redisUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-16_384)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<{ prefix: string; resolve: (rest: string) => void; reject: (e: Error) => void }> = [];
  lines.on('line', (line) => {
    const i = waiting.findIndex((w) => line.startsWith(w.prefix + ' ') || line === w.prefix);
    if (i < 0) return;
    const w = waiting.splice(i, 1)[0]!;
    w.resolve(line === w.prefix ? '' : line.slice(w.prefix.length + 1));
  });
  void exited.then((code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`node process exited (${code}) while waiting for ${w.prefix}:\n${stderr}`));
  });
  const expect = (prefix: string): Promise<string> => new Promise((resolve, reject) => waiting.push({ prefix, resolve, reject }));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      const bye = expect('BYE').catch(() => '');
      child.stdin!.write('EXIT\n');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000); // cleanup net only
      await Promise.all([bye, exited]);
      clearTimeout(kill);
    }
  };
  t.after(stop);
  const port = Number(await expect('PORT'));
  assert.ok(port > 0);
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    command: async (name) => {
      const reply = expect(name);
      child.stdin!.write(`${name}\n`);
      return JSON.parse(await reply);
    },
    stderr: () => stderr,
    stop,
  };
}

interface Client {
  ws: WebSocket;
  log: Received[];
  texts(): string[];
  waitFor(pred: (texts: string[]) => boolean, what: string): Promise<void>;
}

async function openClient(t: Ctx, node: NodeProcess, topic: string, subscribe = true): Promise<Client> {
  const ws = new WebSocket(`${node.url}/?topic=${encodeURIComponent(topic)}${subscribe ? '' : '&subscribe=0'}`);
  const log: Received[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => log.push({ data, isBinary }));
  await once(ws, 'open');
  t.after(() => closeClient(ws));
  return {
    ws,
    log,
    texts: () => texts(log),
    waitFor: (pred, what) => waitFor(() => pred(texts(log)), what, { describe: () => JSON.stringify(texts(log)) }),
  };
}

test('separate node processes: exactly-once fan-out, byte-exact binary, Redis channels, restart and resubscribe, at-most-once', { ...T, timeout: 120_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.close());
  const mon = await monitor(t, redis.url);
  const [A, B] = await Promise.all([spawnNode(t, redis.url), spawnNode(t, redis.url)]);
  await expectChannels(mon, {});

  // Subscribers join: A has one on 'room', B two; Redis gets one subscription per node and topic.
  const a1 = await openClient(t, A, 'room');
  await expectChannels(mon, { 'hyperws:room': 1 });
  const b1 = await openClient(t, B, 'room');
  const b2 = await openClient(t, B, 'room');
  await expectChannels(mon, { 'hyperws:room': 2 });
  const bBytes = await openClient(t, B, 'bytes');
  const aBytesPublisher = await openClient(t, A, 'bytes', false); // publishes only
  await expectChannels(mon, { 'hyperws:bytes': 1, 'hyperws:room': 2 });

  // One message from a client on A: once at A (the sender is a subscriber too) and once at each B subscriber.
  a1.ws.send('hello from a');
  await b1.waitFor((m) => m.length === 1, 'hello at b1');
  await b2.waitFor((m) => m.length === 1, 'hello at b2');
  b1.ws.send('fence from b'); // after it, A has seen every copy of 'hello from a'
  await a1.waitFor((m) => m.length === 2, 'the fence at a1');
  await b2.waitFor((m) => m.length === 2, 'the fence at b2');
  await b1.waitFor((m) => m.length === 2, 'the fence at b1');
  for (const c of [a1, b1, b2]) assert.deepEqual(c.texts(), ['hello from a', 'fence from b']);

  // Binary, byte-exact, across processes.
  aBytesPublisher.ws.send(ALL_BYTES);
  aBytesPublisher.ws.send('text stays text');
  await bBytes.waitFor((m) => m.length === 2, 'two messages on bytes');
  assert.equal(bBytes.log[0]!.isBinary, true);
  assert.deepEqual([...bBytes.log[0]!.data], [...ALL_BYTES]);
  assert.deepEqual([bBytes.log[1]!.isBinary, bBytes.log[1]!.data.toString()], [false, 'text stays text']);
  assert.deepEqual(aBytesPublisher.log, [], 'a connection that did not subscribe receives nothing');

  // Subscribers leave: B keeps 'room' while one of its two remains.
  await closeClient(b2.ws);
  await closeClient(bBytes.ws);
  await expectChannels(mon, { 'hyperws:room': 2 });
  assert.equal((await B.command('STATS')).clients, 1);

  // Redis goes away; both nodes notice; publications on A meanwhile reach A's subscriber only.
  await redis.stop();
  await waitFor(async () => {
    const s = await Promise.all([A.command('STATS'), B.command('STATS')]);
    return s.every((x) => x.pub !== 'ready' && x.sub !== 'ready');
  }, 'both nodes to see Redis down');
  const droppedBefore = (await A.command('STATS')).dropped;
  for (let i = 0; i < 3; i++) a1.ws.send(`while down ${i}`);
  await a1.waitFor((m) => m.length === 5, 'local delivery while Redis is down');
  assert.equal((await A.command('STATS')).dropped - droppedBefore, 3);

  await redis.start();
  await expectChannels(mon, { 'hyperws:room': 2 });
  // Probe from A until B hears it again: it reconnected and resubscribed.
  let probes = 0;
  await waitFor(
    () => {
      if (b1.texts().some((m) => m.startsWith('probe'))) return true;
      a1.ws.send(`probe ${probes++}`);
      return false;
    },
    'a probe from A at B after the restart',
    { intervalMs: 50, timeoutMs: 60_000, describe: () => `A stderr: ${A.stderr()}\nB stderr: ${B.stderr()}` },
  );
  await waitFor(async () => (await B.command('STATS')).pub === 'ready', "B's publisher ready");
  b1.ws.send('after restart from b');
  await a1.waitFor((m) => m.includes('after restart from b'), 'B -> A after the restart');
  a1.ws.send('final from a');
  await b1.waitFor((m) => m.includes('final from a'), 'final at b1');
  b1.ws.send('final fence from b');
  await a1.waitFor((m) => m.includes('final fence from b'), 'final fence at a1');
  // b1 gets its own message on another socket of this process: a1 having it says nothing of b1's.
  await b1.waitFor((m) => m.includes('final fence from b'), 'final fence at b1');

  const down = ['while down 0', 'while down 1', 'while down 2'];
  const probeNames = Array.from({ length: probes }, (_, i) => `probe ${i}`);
  assert.deepEqual(a1.texts(), ['hello from a', 'fence from b', ...down, ...probeNames, 'after restart from b', 'final from a', 'final fence from b']);
  const atB = b1.texts();
  assert.deepEqual(atB.slice(0, 2), ['hello from a', 'fence from b']);
  for (const m of down) assert.ok(!atB.includes(m), `${m} was not delivered to B`);
  const probesAtB = atB.filter((m) => m.startsWith('probe'));
  assert.ok(probesAtB.length >= 1);
  assert.equal(new Set(probesAtB).size, probesAtB.length, `no probe twice at B: ${JSON.stringify(probesAtB)}`);
  assert.deepEqual(atB.slice(-3), ['after restart from b', 'final from a', 'final fence from b']);

  await closeClient(a1.ws);
  await closeClient(aBytesPublisher.ws);
  await expectChannels(mon, { 'hyperws:room': 1 });
  await Promise.all([A.stop(), B.stop()]);
  await expectChannels(mon, {});
});
