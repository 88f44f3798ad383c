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
    assert.deepEqual((await a.nextOf('rooms', (m) => m['version'] === joinedB['version']))['rooms'], [{ name: 'general', count: 2 }]);

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
    assert.deepEqual(nicks(joinedC['members']), ['ann', 'bob', 'cy']);
    assert.deepEqual(nicks((await b.nextOf('presence', (m) => m['members'].length === 3))['members']), ['ann', 'bob', 'cy']);

    // A disconnect on A shows on B.
    a.ws.close();
    assert.deepEqual(nicks((await b.nextOf('presence', (m) => m['members'].length === 2))['members']), ['bob', 'cy']);
    assert.deepEqual((await b.nextOf('rooms', (m) => m['rooms'][0]?.count === 2))['rooms'], [{ name: 'general', count: 2 }]);
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
    assert.deepEqual((await a.nextOf('rooms', (m) => m['rooms'][0]?.count === 1))['rooms'], [{ name: 'room', count: 1 }]);
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
    assert.deepEqual((await a.nextOf('rooms', (m) => m['rooms'][0]?.count === 1))['rooms'], [{ name: 'room', count: 1 }]);
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
    assert.deepEqual(await x.closed, { code: CloseCode.GoingAway, reason: 'Server shutting down' });
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
