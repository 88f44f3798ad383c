// The embedded store (FileStore) on a real directory: numbering and history
// across reopen, client ids across reopen, group commit, a torn last record,
// a corrupt line, compaction, and the directory lock.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { FileStore, LOCK_FILE, LOG_FILE } from '../../../apps/chat/server/file-store.js';
import type { Draft } from '../../../apps/chat/server/store.js';
import { tempDataDir } from './helpers.js';

const draft = (room: string, n: number): Draft => ({ v: 1, type: 'message', id: `id-${room}-${n}`, room, from: { id: 'n.1', nick: 'ann' }, text: `#${n}`, ts: 1_700_000_000_000 + n });

async function openStore(t: TestContext, dir: string, compactMin?: number): Promise<FileStore> {
  const store = await FileStore.open({ dir, ...(compactMin !== undefined ? { compactMin } : {}) });
  t.after(() => store.close());
  return store;
}

const logLines = (dir: string) => readFileSync(join(dir, LOG_FILE), 'utf8').split('\n').filter((l) => l !== '');

describe('FileStore', () => {
  test('history, sequences and client ids survive closing and reopening', async (t) => {
    const dir = tempDataDir(t);
    const first = await openStore(t, dir);
    for (let i = 1; i <= 3; i++) await first.append(draft('a', i), `c${i}`);
    await first.append(draft('b', 1));
    await first.close();

    const second = await openStore(t, dir);
    assert.deepEqual(second.report, { records: 4, skipped: 0, tornBytes: 0 });
    const a = await second.history('a');
    assert.deepEqual(a.messages, [1, 2, 3].map((i) => ({ ...draft('a', i), seq: i })));
    assert.equal(a.seq, 3);
    assert.deepEqual((await second.presence([])).counts, [{ name: 'a', count: 0, seq: 3 }, { name: 'b', count: 0, seq: 1 }]);
    // Numbering goes on; a retried client id is still recognized.
    assert.equal((await second.append(draft('a', 4))).message.seq, 4);
    assert.deepEqual(await second.append(draft('a', 99), 'c2'), { message: { ...draft('a', 2), seq: 2 }, duplicate: true });
  });

  test('group commit: appends that arrive during a write share the next one', async (t) => {
    const store = await openStore(t, tempDataDir(t));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(draft('r', i + 1))));
    assert.deepEqual(results.map((r) => r.message.seq), Array.from({ length: 100 }, (_, i) => i + 1));
    // The first append starts a write at once; the 99 others wait for it and go together.
    assert.deepEqual(store.stats.batches, 2);
  });

  test('a retry while the first send is still being written waits for it and is not stored again', async (t) => {
    const store = await openStore(t, tempDataDir(t));
    const [first, retry] = await Promise.all([store.append(draft('r', 1), 'same'), store.append(draft('r', 2), 'same')]);
    assert.deepEqual(retry, { message: first.message, duplicate: true });
    assert.equal((await store.history('r')).seq, 1);
  });

  test('a last record cut short by a crash is removed; a corrupt line is skipped', async (t) => {
    const dir = tempDataDir(t);
    const first = await openStore(t, dir);
    for (let i = 1; i <= 3; i++) await first.append(draft('r', i));
    await first.close();
    const lines = logLines(dir);
    writeFileSync(join(dir, LOG_FILE), `${lines[0]}\n{"m":{"room":\n${lines[1]}\n${lines[2]}\n{"m":{"v":1,"type":"mess`);

    const second = await openStore(t, dir);
    assert.deepEqual(second.report, { records: 3, skipped: 1, tornBytes: '{"m":{"v":1,"type":"mess'.length });
    assert.deepEqual((await second.history('r')).messages.map((m) => m.seq), [1, 2, 3]);
    assert.equal((await second.append(draft('r', 4))).message.seq, 4);
    await second.close();
    // The torn bytes are gone from the file: the new record starts a line of its own.
    assert.equal(logLines(dir).length, 5);
    const third = await openStore(t, dir);
    assert.deepEqual(third.report, { records: 4, skipped: 1, tornBytes: 0 });
  });

  test('compaction keeps the retained messages and the numbering', async (t) => {
    const dir = tempDataDir(t);
    const store = await openStore(t, dir, 150);
    for (let i = 1; i <= 300; i++) await store.append(draft('r', i), `c${i}`);
    await store.append(draft('s', 1));
    // Compacted at 201 records (more than 150 and twice the 100 retained), then 100 more came.
    assert.ok(store.stats.records < 300, JSON.stringify(store.stats));
    assert.equal(logLines(dir).length, store.stats.records);
    await store.close();
    const reopened = await openStore(t, dir, 150);
    const r = await reopened.history('r');
    assert.deepEqual([r.seq, r.messages[0]!.seq, r.messages.length], [300, 201, 100]);
    assert.equal((await reopened.append(draft('r', 301))).message.seq, 301);
    assert.equal((await reopened.append(draft('r', 0), 'c250')).duplicate, true);
    assert.equal((await reopened.history('s')).seq, 1);
  });

  test('the directory lock: refused while held, taken over from a dead process', async (t) => {
    const dir = tempDataDir(t);
    const store = await openStore(t, dir);
    await assert.rejects(FileStore.open({ dir }), { message: `the data directory ${dir} is in use by process ${process.pid}` });
    await store.close();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
    const again = await openStore(t, dir);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${process.pid}\n`);
    await again.close();
    assert.throws(() => readFileSync(join(dir, LOCK_FILE)), { code: 'ENOENT' });
  });
});
