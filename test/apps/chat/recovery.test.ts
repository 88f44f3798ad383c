// Recovery of missed messages and acknowledged sends, over real WebSockets
// against an in-process chat server (memory store): per-room sequence
// numbers, `join` with `since`, the history bound and its gap, `cid` acks
// and retries stored once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatClient, startChat, type Msg } from './helpers.js';

const TIMEOUT = { timeout: 30_000 };
const FAST = { rateLimit: { perSecond: 1000, burst: 1000 } };
const texts = (messages: Msg[]) => messages.map((m) => m['text']);
const seqs = (messages: Msg[]) => messages.map((m) => m['seq']);

describe('chat recovery', () => {
  test('a client that rejoins with since gets exactly what it missed, in order', TIMEOUT, async (t) => {
    const chat = await startChat(t, FAST);
    const a = await ChatClient.connect(t, chat.wsUrl);
    const b = await ChatClient.connect(t, chat.wsUrl);
    await a.join('r', 'ann');
    await b.join('r', 'bob');
    for (let i = 1; i <= 3; i++) a.send({ v: 1, type: 'message', text: `seen ${i}` });
    const last = await b.nextOf('message', (m) => m['text'] === 'seen 3');
    assert.equal(last['seq'], 3);
    b.ws.close();
    await b.closed;
    for (let i = 1; i <= 4; i++) a.send({ v: 1, type: 'message', text: `missed ${i}` });
    await a.nextOf('message', (m) => m['text'] === 'missed 4');

    const back = await ChatClient.connect(t, chat.wsUrl);
    const joined = await back.join('r', 'bob');
    assert.equal(joined['seq'], 7);
    assert.equal(joined['gap'], false);
    assert.equal((joined['history'] as Msg[]).length, 7); // no since: the latest
    const back2 = await ChatClient.connect(t, chat.wsUrl);
    back2.send({ v: 1, type: 'join', room: 'r', nick: 'bob', since: last['seq'] });
    const resumed = await back2.nextOf('joined');
    assert.deepEqual(texts(resumed['history']), ['missed 1', 'missed 2', 'missed 3', 'missed 4']);
    assert.deepEqual(seqs(resumed['history']), [4, 5, 6, 7]);
    assert.equal(resumed['seq'], 7);
    assert.equal(resumed['gap'], false);
    // Up to date: nothing to send.
    back2.send({ v: 1, type: 'join', room: 'r', since: 7 });
    const current = await back2.nextOf('joined');
    assert.deepEqual([current['history'], current['gap'], current['seq']], [[], false, 7]);
  });

  test('beyond the bound (100): the latest 100 and a history gap', TIMEOUT, async (t) => {
    const chat = await startChat(t, FAST);
    const a = await ChatClient.connect(t, chat.wsUrl);
    await a.join('r', 'ann');
    for (let i = 1; i <= 110; i++) a.send({ v: 1, type: 'message', text: `m${i}` });
    await a.nextOf('message', (m) => m['text'] === 'm110');
    const b = await ChatClient.connect(t, chat.wsUrl);
    b.send({ v: 1, type: 'join', room: 'r', since: 10 });
    const complete = await b.nextOf('joined');
    assert.equal(complete['gap'], false);
    assert.deepEqual(seqs(complete['history']), Array.from({ length: 100 }, (_, i) => i + 11));
    b.send({ v: 1, type: 'join', room: 'r', since: 9 });
    const gap = await b.nextOf('joined');
    assert.equal(gap['gap'], true);
    assert.deepEqual(seqs(gap['history']), Array.from({ length: 100 }, (_, i) => i + 11));
  });

  test('a since the server never reached (its history was lost): the history it has, and a gap', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    a.send({ v: 1, type: 'join', room: 'r', since: 40 });
    const joined = await a.nextOf('joined');
    assert.deepEqual([joined['seq'], joined['history'], joined['gap']], [0, [], true]);
  });

  test('a send with cid is acknowledged with its message; a retry of it is stored and published once', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    const b = await ChatClient.connect(t, chat.wsUrl);
    await a.join('r', 'ann');
    await b.join('r', 'bob');
    a.send({ v: 1, type: 'message', text: 'once', cid: 'c-1' });
    const live = await a.nextOf('message');
    const ack = await a.nextOf('ack');
    assert.deepEqual(ack, { v: 1, type: 'ack', cid: 'c-1', message: live });
    assert.equal(live['seq'], 1);
    // The retry, as after a reconnection that lost the ack: same message back, nothing new.
    a.send({ v: 1, type: 'message', text: 'once (retried)', cid: 'c-1' });
    assert.deepEqual(await a.nextOf('ack'), ack);
    a.send({ v: 1, type: 'message', text: 'after', cid: 'c-2' });
    assert.equal((await a.nextOf('ack'))['message']['seq'], 2);
    await b.nextOf('message', (m) => m['text'] === 'after');
    assert.deepEqual(texts(b.received.filter((m) => m.type === 'message')), ['once', 'after']);
    assert.deepEqual(b.received.filter((m) => m.type === 'activity').map((m) => m['seq']), [1, 2]);
    // Without cid: no ack (the reply to the next request comes first).
    a.send({ v: 1, type: 'message', text: 'fire and forget' });
    a.send({ v: 1, type: 'rooms' });
    await a.nextOf('rooms');
    assert.equal(a.received.filter((m) => m.type === 'ack').length, 3);
  });
});
