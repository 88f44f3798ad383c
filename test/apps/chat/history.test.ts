// What a joining client gets for its `since` (historyAfter, shared by every
// store) and the in-memory retained history (RoomHistories).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { historyAfter, RoomHistories } from '../../../apps/chat/server/history.js';
import type { ChatMessage } from '../../../apps/chat/server/protocol.js';

const m = (seq: number, room = 'r'): ChatMessage => ({ v: 1, type: 'message', id: `${room}${seq}`, room, seq, from: { id: 'n.1', nick: 'ann' }, text: `#${seq}`, ts: seq });
const seqs = (messages: ChatMessage[]) => messages.map((x) => x.seq);
const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => m(from + i));

describe('historyAfter', () => {
  test('without since: every retained message, no gap', () => {
    assert.deepEqual(historyAfter(run(1, 3), 3, undefined), { seq: 3, messages: run(1, 3), gap: false });
    assert.deepEqual(historyAfter([], 0, undefined), { seq: 0, messages: [], gap: false });
  });

  test('since within the retained run: exactly the later messages, in order', () => {
    assert.deepEqual(seqs(historyAfter(run(1, 10), 10, 7).messages), [8, 9, 10]);
    assert.deepEqual(historyAfter(run(1, 10), 10, 10), { seq: 10, messages: [], gap: false });
    assert.deepEqual(historyAfter([], 0, 0), { seq: 0, messages: [], gap: false });
  });

  test('since just before the oldest retained: complete; further back: a gap', () => {
    assert.equal(historyAfter(run(11, 110), 110, 10).gap, false);
    const gap = historyAfter(run(11, 110), 110, 9);
    assert.equal(gap.gap, true);
    assert.deepEqual(seqs(gap.messages), seqs(run(11, 110)));
  });

  test('history expired (nothing retained, seq kept): a gap', () => {
    assert.deepEqual(historyAfter([], 12, 5), { seq: 12, messages: [], gap: true });
  });

  test('since beyond the latest (the server lost its history): everything retained and a gap', () => {
    assert.deepEqual(historyAfter(run(1, 2), 2, 40), { seq: 2, messages: run(1, 2), gap: true });
  });
});

describe('RoomHistories', () => {
  test('rejects a sequence that does not grow', () => {
    const rooms = new RoomHistories();
    rooms.add(m(1), undefined);
    assert.throws(() => rooms.add(m(1), undefined), /seq 1 after 1/);
  });

  test('counts retained messages across trims and forgotten rooms', () => {
    const rooms = new RoomHistories(2);
    for (const x of run(1, 105)) rooms.add(x, `c${x.seq}`);
    assert.equal(rooms.retained, 100);
    assert.equal(rooms.find('r', 'c5'), undefined);
    assert.equal(rooms.find('r', 'c6')?.seq, 6);
    rooms.add(m(1, 's'), undefined);
    rooms.add(m(1, 't'), undefined); // 'r' is the least recently active: forgotten
    assert.equal(rooms.retained, 2);
    assert.deepEqual([...rooms.seqs()], [['s', 1], ['t', 1]]);
    assert.deepEqual([...rooms.entries()].map((e) => e.message.id), ['s1', 't1']);
  });
});
