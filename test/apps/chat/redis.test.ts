// Several chat nodes behind one real redis-server: topics, presence, room
// counts and history shared across nodes; a crashed node's members swept
// after its TTL; a node leaving cleanly takes its members along.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloseCode } from '../../../src/index.js';
import { startChatServer } from '../../../apps/chat/server/chat-server.js';
import { freeTcpPort, startRedis } from '../../support/redis.js';
import { redisServerPath, skipReason } from '../../support/system.js';
import { ChatClient, WEB_ROOT, nicks, startChat, startChatProcess, type Msg } from './helpers.js';

const redis = redisServerPath();
const OPTIONS = { skip: skipReason(redis), timeout: 60_000 };

describe('chat across nodes with --redis', () => {
  test('messages, presence, counts and history are shared by two nodes', OPTIONS, async (t) => {
    const server = await startRedis();
    t.after(() => server.close());
    const nodeA = await startChat(t, { redis: server.url, rateLimit: { perSecond: 1000, burst: 1000 } });
    const nodeB = await startChat(t, { redis: server.url, rateLimit: { perSecond: 1000, burst: 1000 } });
    assert.notEqual(nodeA.nodeId, nodeB.nodeId);

    const a = await ChatClient.connect(t, nodeA.wsUrl);
    const b = await ChatClient.connect(t, nodeB.wsUrl);
    const joinedA = await a.join('general', 'ann');
    assert.deepEqual(nicks(joinedA['members']), ['ann']);
    const joinedB = await b.join('general', 'bob');
    // B's snapshot comes from Redis: it includes A's member.
    assert.deepEqual(joinedB['members'], [{ id: a.id, nick: 'ann' }, { id: b.id, nick: 'bob' }]);
    assert.ok(joinedB['version'] > joinedA['version']);
    // B's presence publication reaches A through Redis.
    const presence = await a.nextOf('presence');
    assert.deepEqual(presence, { v: 1, type: 'presence', room: 'general', members: joinedB['members'], version: joinedB['version'] });
    assert.deepEqual((await a.nextOf('rooms', (m) => m['version'] === joinedB['version']))['rooms'], [{ name: 'general', count: 2, seq: 0 }]);

    // Messages both ways.
    b.send({ v: 1, type: 'message', text: 'from B' });
    assert.equal((await a.nextOf('message'))['text'], 'from B');
    a.send({ v: 1, type: 'message', text: 'from A' });
    assert.equal((await b.nextOf('message', (m) => m['text'] === 'from A'))['from'].nick, 'ann');
    b.send({ v: 1, type: 'typing', typing: true });
    assert.deepEqual(await a.nextOf('typing'), { v: 1, type: 'typing', room: 'general', from: { id: b.id, nick: 'bob' }, typing: true });

    // History lives in Redis: 105 more from B, a newcomer on A gets the last 100.
    for (let i = 1; i <= 105; i++) b.send({ v: 1, type: 'message', text: `m${i}` });
    await b.nextOf('message', (m) => m['text'] === 'm105');
    const c = await ChatClient.connect(t, nodeA.wsUrl);
    const joinedC = await c.join('general', 'cy');
    assert.deepEqual((joinedC['history'] as Msg[]).map((m) => m['text']), Array.from({ length: 100 }, (_, i) => `m${i + 6}`));
    // Numbered by Redis across both nodes: 'from B', 'from A', then m1..m105.
    assert.deepEqual((joinedC['history'] as Msg[]).map((m) => m['seq']), Array.from({ length: 100 }, (_, i) => i + 8));
    assert.equal(joinedC['seq'], 107);
    assert.deepEqual(nicks(joinedC['members']), ['ann', 'bob', 'cy']);
    assert.deepEqual(nicks((await b.nextOf('presence', (m) => m['members'].length === 3))['members']), ['ann', 'bob', 'cy']);

    // A disconnect on A shows on B.
    a.ws.close();
    assert.deepEqual(nicks((await b.nextOf('presence', (m) => m['members'].length === 2))['members']), ['bob', 'cy']);
    assert.deepEqual((await b.nextOf('rooms', (m) => m['rooms'][0]?.count === 2))['rooms'], [{ name: 'general', count: 2, seq: 107 }]);
  });

  test('recovery across nodes: acked on a node that then crashes, retried and resumed on another', OPTIONS, async (t) => {
    const server = await startRedis();
    t.after(() => server.close());
    const crashing = await startChatProcess(t, ['--port', '0', '--redis', server.url]);
    const nodeB = await startChat(t, { redis: server.url, rateLimit: { perSecond: 1000, burst: 1000 } });
    const x = await ChatClient.connect(t, `ws://127.0.0.1:${crashing.port}/ws`);
    const b = await ChatClient.connect(t, nodeB.wsUrl);
    await x.join('r', 'xavier');
    await b.join('r', 'bob');
    x.send({ v: 1, type: 'message', text: 'acked on A', cid: 'x-1' });
    const ack = await x.nextOf('ack');
    assert.equal(ack['message']['seq'], 1);
    await crashing.kill(); // SIGKILL: the ack is all x knows
    await x.closed;
    // While x is away, B's clients talk.
    for (let i = 1; i <= 3; i++) b.send({ v: 1, type: 'message', text: `missed ${i}` });
    await b.nextOf('message', (m) => m['text'] === 'missed 3');

    // x comes back on B: resumes after the last seq it saw, and retries its send (it cannot know the ack was its last word).
    const back = await ChatClient.connect(t, nodeB.wsUrl);
    back.send({ v: 1, type: 'join', room: 'r', nick: 'xavier', since: 1 });
    const joined = await back.nextOf('joined');
    assert.deepEqual((joined['history'] as Msg[]).map((m) => [m['seq'], m['text']]), [[2, 'missed 1'], [3, 'missed 2'], [4, 'missed 3']]);
    assert.equal(joined['gap'], false);
    back.send({ v: 1, type: 'message', text: 'acked on A', cid: 'x-1' });
    assert.deepEqual(await back.nextOf('ack'), ack);
    // Stored once: the history from the start holds it once, in its place.
    back.send({ v: 1, type: 'join', room: 'r', since: 0 });
    assert.deepEqual(((await back.nextOf('joined'))['history'] as Msg[]).map((m) => m['text']), ['acked on A', 'missed 1', 'missed 2', 'missed 3']);
  });

  test('a node that closes takes its members out of presence on the other nodes', OPTIONS, async (t) => {
    const server = await startRedis();
    t.after(() => server.close());
    const nodeA = await startChat(t, { redis: server.url });
    const nodeB = await startChat(t, { redis: server.url });
    const a = await ChatClient.connect(t, nodeA.wsUrl);
    const b = await ChatClient.connect(t, nodeB.wsUrl);
    await a.join('room', 'ann');
    await b.join('room', 'bob');
    await a.nextOf('presence', (m) => m['members'].length === 2);
    await nodeB.close();
    assert.equal((await b.closed).code, CloseCode.GoingAway);
    // Snapshots of the two-member room may still be in flight: wait for the one after the sweep.
    const swept = await a.nextOf('presence', (m) => !nicks(m['members']).includes('xavier'));
    assert.deepEqual(nicks(swept['members']), ['ann']);
    assert.deepEqual((await a.nextOf('rooms', (m) => m['rooms'][0]?.count === 1))['rooms'], [{ name: 'room', count: 1, seq: 0 }]);
  });

  test("a crashed node's members are swept once its node key expires", OPTIONS, async (t) => {
    const server = await startRedis();
    t.after(() => server.close());
    // Short TTLs so that the sweep happens soon; nothing here depends on how soon.
    const nodeA = await startChat(t, { redis: server.url, nodeTtlMs: 300 });
    const crashing = await startChatProcess(t, ['--port', '0', '--redis', server.url], { HYPERWS_CHAT_NODE_TTL_MS: '300' });
    const a = await ChatClient.connect(t, nodeA.wsUrl);
    const x = await ChatClient.connect(t, `ws://127.0.0.1:${crashing.port}/ws`);
    await a.join('room', 'ann');
    await x.join('room', 'xavier');
    assert.deepEqual(nicks((await a.nextOf('presence', (m) => nicks(m['members']).includes('xavier')))['members']), ['ann', 'xavier']);
    await crashing.kill(); // SIGKILL: no cleanup
    assert.equal((await x.closed).code, CloseCode.AbnormalClosure);
    // Snapshots of the two-member room may still be in flight: wait for the one after the sweep.
    const swept = await a.nextOf('presence', (m) => !nicks(m['members']).includes('xavier'));
    assert.deepEqual(nicks(swept['members']), ['ann']);
    assert.deepEqual((await a.nextOf('rooms', (m) => m['rooms'][0]?.count === 1))['rooms'], [{ name: 'room', count: 1, seq: 0 }]);
  });

  test('hyperws chat --redis: one stdout line, SIGTERM exits 0 and leaves no member behind', OPTIONS, async (t) => {
    const server = await startRedis();
    t.after(() => server.close());
    const nodeA = await startChat(t, { redis: server.url });
    const child = await startChatProcess(t, ['--port', '0', '--redis', server.url]);
    const a = await ChatClient.connect(t, nodeA.wsUrl);
    const x = await ChatClient.connect(t, `ws://127.0.0.1:${child.port}/ws`);
    await a.join('room', 'ann');
    await x.join('room', 'xavier');
    await a.nextOf('presence', (m) => m['members'].length === 2);
    assert.equal(await child.stop('SIGTERM'), 0);
    assert.deepEqual(await x.closed, { code: CloseCode.ServiceRestart, reason: 'Service restart' }, 'SIGTERM is a restart: 1012');
    const left = await a.nextOf('presence', (m) => !nicks(m['members']).includes('xavier'));
    assert.deepEqual(nicks(left['members']), ['ann']);
    assert.deepEqual(child.stdout.lines, [`hyperws chat: http://127.0.0.1:${child.port}/`]);
  });

  // No redis-server needed: nothing listens on the port.
  test('an unreachable Redis fails the start with a clear error', { timeout: 30_000 }, async () => {
    const port = await freeTcpPort();
    await assert.rejects(
      startChatServer({ port: 0, webRoot: WEB_ROOT, redis: `redis://127.0.0.1:${port}`, redisReadyTimeoutMs: 300 }),
      { message: `cannot connect to Redis at redis://127.0.0.1:${port} (not ready after 300 ms)` },
    );
  });
});
