// Unit tests of the chat server's pure parts: message validation, limits
// (token bucket, abuse window), the in-memory store.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIMITS, checkName, codePoints, parseClientMessage } from '../../../apps/chat/server/protocol.js';
import { TokenBucket, WindowCounter } from '../../../apps/chat/server/limits.js';
import { MemoryStore, type Draft } from '../../../apps/chat/server/store.js';
import { HISTORY_ROOMS } from '../../../apps/chat/server/history.js';
import { decodeState } from '../../../apps/chat/server/redis-store.js';

const parse = (value: unknown) => parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value));
const code = (value: unknown) => {
  const verdict = parse(value);
  return verdict.ok ? 'ok' : verdict.code;
};

describe('parseClientMessage', () => {
  test('accepts every message type with exactly the fields the server uses', () => {
    assert.deepEqual(parse({ v: 1, type: 'join', room: 'general' }), { ok: true, message: { type: 'join', room: 'general' } });
    assert.deepEqual(parse({ v: 1, type: 'join', room: ' lobby ', nick: ' ann ', extra: 1 }), {
      ok: true,
      message: { type: 'join', room: 'lobby', nick: 'ann' },
    });
    assert.deepEqual(parse({ v: 1, type: 'leave' }), { ok: true, message: { type: 'leave' } });
    assert.deepEqual(parse({ v: 1, type: 'message', text: ' hi\nthere\t' }), { ok: true, message: { type: 'message', text: ' hi\nthere\t' } });
    assert.deepEqual(parse({ v: 1, type: 'typing', typing: false }), { ok: true, message: { type: 'typing', typing: false } });
    assert.deepEqual(parse({ v: 1, type: 'nick', nick: 'bob' }), { ok: true, message: { type: 'nick', nick: 'bob' } });
    assert.deepEqual(parse({ v: 1, type: 'rooms' }), { ok: true, message: { type: 'rooms' } });
    assert.deepEqual(parse({ v: 1, type: 'join', room: 'a', since: 0 }), { ok: true, message: { type: 'join', room: 'a', since: 0 } });
    assert.deepEqual(parse({ v: 1, type: 'join', room: 'a', nick: 'n', since: 41 }), { ok: true, message: { type: 'join', room: 'a', nick: 'n', since: 41 } });
    assert.deepEqual(parse({ v: 1, type: 'message', text: 'x', cid: 'Ab_-9' }), { ok: true, message: { type: 'message', text: 'x', cid: 'Ab_-9' } });
  });

  test('since is a sequence number; cid is 1 to 64 letters, digits, - or _', () => {
    for (const since of [-1, 1.5, '3', null, 2 ** 53, true]) {
      assert.deepEqual(parse({ v: 1, type: 'join', room: 'a', since }), { ok: false, code: 'bad_message', message: "'since' must be a sequence number (an integer >= 0)" }, String(since));
    }
    assert.equal(code({ v: 1, type: 'message', text: 'x', cid: 'c'.repeat(64) }), 'ok');
    for (const cid of ['', 'c'.repeat(65), 'a b', 'é', 5, null]) {
      assert.deepEqual(parse({ v: 1, type: 'message', text: 'x', cid }), { ok: false, code: 'bad_message', message: "'cid' must be 1 to 64 letters, digits, '-' or '_'" }, String(cid));
    }
  });

  test('malformed JSON and non-objects', () => {
    assert.deepEqual(parse('{"v":1,'), { ok: false, code: 'bad_json', message: 'the message is not valid JSON' });
    assert.equal(code(''), 'bad_json');
    assert.equal(code('null'), 'bad_message');
    assert.equal(code('[1]'), 'bad_message');
    assert.equal(code('"join"'), 'bad_message');
    assert.equal(code('42'), 'bad_message');
  });

  test('version and type', () => {
    assert.equal(code({ type: 'join', room: 'a' }), 'unsupported_version');
    assert.equal(code({ v: 2, type: 'join', room: 'a' }), 'unsupported_version');
    assert.equal(code({ v: '1', type: 'join', room: 'a' }), 'unsupported_version');
    assert.equal(code({ v: 1 }), 'bad_message');
    assert.equal(code({ v: 1, type: 7 }), 'bad_message');
    assert.deepEqual(parse({ v: 1, type: 'shout' }), { ok: false, code: 'unknown_type', message: "unknown message type 'shout'" });
    // The echoed type is cut short: an error reply never grows with the input.
    const long = parse({ v: 1, type: 'x'.repeat(1000) });
    assert.equal(long.ok, false);
    assert.equal(!long.ok && long.message, `unknown message type '${'x'.repeat(32)}'`);
  });

  test('field types', () => {
    assert.equal(code({ v: 1, type: 'join' }), 'bad_message');
    assert.equal(code({ v: 1, type: 'join', room: 5 }), 'bad_message');
    assert.equal(code({ v: 1, type: 'join', room: 'a', nick: null }), 'bad_message');
    assert.equal(code({ v: 1, type: 'message', text: 5 }), 'bad_message');
    assert.equal(code({ v: 1, type: 'message' }), 'bad_message');
    assert.equal(code({ v: 1, type: 'typing', typing: 'yes' }), 'bad_message');
    assert.equal(code({ v: 1, type: 'nick' }), 'bad_message');
  });

  test('length limits count code points: nickname 32, room 64, text 2000', () => {
    const emoji = '\u{1F600}'; // two UTF-16 units, one code point
    assert.equal(codePoints(emoji.repeat(3)), 3);
    assert.equal(code({ v: 1, type: 'nick', nick: emoji.repeat(LIMITS.nick) }), 'ok');
    assert.equal(code({ v: 1, type: 'nick', nick: 'n'.repeat(LIMITS.nick + 1) }), 'too_long');
    assert.equal(code({ v: 1, type: 'join', room: 'r'.repeat(LIMITS.room) }), 'ok');
    assert.equal(code({ v: 1, type: 'join', room: 'r'.repeat(LIMITS.room + 1) }), 'too_long');
    assert.equal(code({ v: 1, type: 'join', room: 'r', nick: 'n'.repeat(33) }), 'too_long');
    assert.equal(code({ v: 1, type: 'message', text: emoji.repeat(LIMITS.text) }), 'ok');
    assert.deepEqual(parse({ v: 1, type: 'message', text: 't'.repeat(LIMITS.text + 1) }), {
      ok: false,
      code: 'too_long',
      message: "'text' is longer than 2000 characters",
    });
  });

  test('names: trimmed, not empty, no control or bidi characters', () => {
    assert.deepEqual(checkName('nick', '  ann  '), { ok: true, value: 'ann' });
    assert.equal(code({ v: 1, type: 'nick', nick: '   ' }), 'bad_message');
    assert.equal(code({ v: 1, type: 'join', room: '' }), 'bad_message');
    for (const bad of ['a\nb', 'a\u0000b', 'a\u007fb', 'a\u2028b', 'evil\u202egnp.exe', 'a\u2066b']) {
      assert.equal(code({ v: 1, type: 'nick', nick: bad }), 'bad_message', JSON.stringify(bad));
      assert.equal(code({ v: 1, type: 'join', room: bad }), 'bad_message', JSON.stringify(bad));
    }
    assert.equal(code({ v: 1, type: 'join', room: 'café ☕ 日本' }), 'ok');
  });

  test('text: not blank, no control characters besides tab and line breaks', () => {
    assert.equal(code({ v: 1, type: 'message', text: ' \n\t ' }), 'bad_message');
    assert.equal(code({ v: 1, type: 'message', text: 'bell\u0007' }), 'bad_message');
    assert.equal(code({ v: 1, type: 'message', text: 'line\r\nbreak' }), 'ok');
    assert.equal(code({ v: 1, type: 'message', text: '<img src=x onerror=alert(1)>' }), 'ok');
  });
});

describe('limits', () => {
  test('token bucket: a burst, then the refill rate', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false]);
    assert.equal(bucket.take(50), false); // half a token
    assert.equal(bucket.take(100), true); // one token after 100 ms at 10/s
    assert.equal(bucket.take(100), false);
    // Refill stops at the burst size.
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.take(60_000)), [true, true, true, false]);
    // A clock going backwards adds nothing.
    assert.equal(bucket.take(0), false);
  });

  test('abuse window: the limit-th event within the window trips it', () => {
    const w = new WindowCounter({ limit: 3, windowMs: 1000 });
    assert.equal(w.record(0), false);
    assert.equal(w.record(500), false);
    assert.equal(w.record(1000), false); // the event at 0 left the window
    assert.equal(w.record(1200), true);
  });
});

describe('MemoryStore', () => {
  const draft = (room: string, n: number): Draft => ({
    v: 1,
    type: 'message',
    id: `m${n}`,
    room,
    from: { id: 'x.1', nick: 'ann' },
    text: `#${n}`,
    ts: n,
  });

  test('numbers messages per room from 1 and keeps the last 100, oldest first', async () => {
    const store = new MemoryStore();
    for (let i = 1; i <= 105; i++) assert.deepEqual(await store.append(draft('a', i)), { message: { ...draft('a', i), seq: i }, duplicate: false });
    assert.equal((await store.append(draft('b', 1))).message.seq, 1);
    const a = await store.history('a');
    assert.equal(a.seq, 105);
    assert.equal(a.gap, false);
    assert.deepEqual(a.messages.map((m) => [m.seq, m.text]), Array.from({ length: 100 }, (_, i) => [i + 6, `#${i + 6}`]));
    assert.deepEqual(await store.history('nowhere'), { seq: 0, messages: [], gap: false });
    // Recovery from a sequence: exactly the messages after it, or a gap past the bound.
    assert.deepEqual((await store.history('a', 102)).messages.map((m) => m.seq), [103, 104, 105]);
    assert.equal((await store.history('a', 5)).gap, false);
    assert.equal((await store.history('a', 4)).gap, true);
  });

  test('a client id already used in the room returns the first message, stored once', async () => {
    const store = new MemoryStore();
    const first = await store.append(draft('a', 1), 'c1');
    const again = await store.append({ ...draft('a', 2), text: 'retry' }, 'c1');
    assert.deepEqual(again, { message: first.message, duplicate: true });
    // The same id in another room is another message.
    assert.equal((await store.append(draft('b', 3), 'c1')).duplicate, false);
    assert.deepEqual((await store.history('a')).messages.map((m) => m.text), ['#1']);
    // Once the message left the retained history, its id is forgotten.
    for (let i = 0; i < 100; i++) await store.append(draft('a', 10 + i));
    assert.equal((await store.append(draft('a', 999), 'c1')).duplicate, false);
  });

  test('forgets the history of the least recently active room past the room cap', async () => {
    const store = new MemoryStore();
    for (let i = 0; i <= HISTORY_ROOMS; i++) await store.append(draft(`room${i}`, i));
    assert.deepEqual(await store.history('room0'), { seq: 0, messages: [], gap: false });
    assert.equal((await store.history('room1')).messages.length, 1);
  });

  test('the room list holds rooms with members and rooms with a history', async () => {
    const store = new MemoryStore();
    await store.append(draft('quiet', 1));
    await store.append(draft('quiet', 2));
    const state = await store.presence([{ id: 'n.1', nick: 'ann', from: null, to: 'busy' }]);
    assert.deepEqual(state.counts, [{ name: 'busy', count: 1, seq: 0 }, { name: 'quiet', count: 0, seq: 2 }]);
  });

  test('presence: moves, counts, versions and sorted snapshots', async () => {
    const store = new MemoryStore();
    const empty = await store.presence([]);
    assert.deepEqual(empty, { version: 0, rooms: new Map(), counts: [] });
    const s1 = await store.presence([
      { id: 'n.2', nick: 'zoe', from: null, to: 'a' },
      { id: 'n.1', nick: 'ann', from: null, to: 'a' },
      { id: 'n.3', nick: 'bob', from: null, to: 'b' },
    ]);
    assert.equal(s1.version, 1);
    assert.deepEqual(s1.rooms.get('a'), [{ id: 'n.1', nick: 'ann' }, { id: 'n.2', nick: 'zoe' }]);
    assert.deepEqual(s1.counts, [{ name: 'a', count: 2, seq: 0 }, { name: 'b', count: 1, seq: 0 }]);
    const s2 = await store.presence([{ id: 'n.3', nick: 'bob', from: 'b', to: 'a' }]);
    assert.equal(s2.version, 2);
    assert.deepEqual([...s2.rooms.keys()].sort(), ['a', 'b']);
    assert.deepEqual(s2.rooms.get('b'), []);
    assert.deepEqual(s2.counts, [{ name: 'a', count: 3, seq: 0 }]);
    // Asking without changes: same version, the asked room's members.
    const s3 = await store.presence([], ['a']);
    assert.equal(s3.version, 2);
    assert.deepEqual(s3.rooms.get('a')!.map((m) => m.nick), ['ann', 'bob', 'zoe']);
  });

  test('decodeState reads the Redis script reply, empty Lua tables included', () => {
    const state = decodeState('{"version":7,"rooms":[["a",["n.2","zoe","n.1","ann"]],["b",{}]],"counts":["a","2"],"seqs":["c","9","a","4"]}');
    assert.deepEqual(state, {
      version: 7,
      rooms: new Map([
        ['a', [{ id: 'n.1', nick: 'ann' }, { id: 'n.2', nick: 'zoe' }]],
        ['b', []],
      ]),
      counts: [{ name: 'a', count: 2, seq: 4 }, { name: 'c', count: 0, seq: 9 }],
    });
    assert.deepEqual(decodeState('{"version":3,"rooms":{},"counts":{},"seqs":{}}'), { version: 3, rooms: new Map(), counts: [] });
  });
});
