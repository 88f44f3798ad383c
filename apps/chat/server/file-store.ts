/**
 * The chat's embedded store (the default of `hyperws chat`): presence in
 * memory (it describes live connections), history on disk in an append-only
 * log under a data directory, replayed into memory (RoomHistories) on open.
 *
 * Files in the directory:
 *   chat.log      one JSON record per line, `{"m": message}` or `{"c": cid, "m": message}`
 *   chat.log.tmp  a compaction being written (renamed over chat.log when complete)
 *   lock          the pid of the process that has the directory open
 *
 * Durability: append() resolves only once its record is written and fsynced
 * (fdatasync), so an acknowledged message survives a crash of the process or
 * of the machine. Appends that arrive while an fsync is in flight are written
 * together by the next one (group commit): one fsync per batch, not per
 * message. Readers (history, duplicate checks) see a message only once it is
 * committed, so nothing shown or acknowledged can be lost and renumbered.
 *
 * Recovery on open: a last line without its newline is a write cut short by a
 * crash (never acknowledged) and is cut off; a line that does not parse
 * (corruption) or whose sequence does not follow its room's is skipped and
 * counted. A failed write truncates the file back to its committed length and
 * fails the whole queue (nothing of it was acknowledged); if even that fails,
 * every later append fails until a restart.
 *
 * Compaction: when the log holds more than COMPACT_MIN records and twice the
 * retained ones, it is rewritten with the retained messages only (write to
 * chat.log.tmp, fsync, rename, fsync the directory), between two batches.
 */
import { mkdirSync, openSync, closeSync, fsyncSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RoomHistories, type Entry } from './history.js';
import type { ChatMessage } from './protocol.js';
import { MemoryPresence, type Appended, type ChatStore, type Draft, type PresenceChange, type PresenceState, type RoomHistory } from './store.js';

export const LOG_FILE = 'chat.log';
export const LOCK_FILE = 'lock';
/** Below this many records the log is never compacted. */
export const COMPACT_MIN = 10_000;

export interface FileStoreOptions {
  dir: string;
  /** Records above which the log may be compacted (default COMPACT_MIN): tests make it small. */
  compactMin?: number;
  log?: (line: string) => void;
}

interface Queued {
  line: string;
  entry: Entry;
  resolve: (appended: Appended) => void;
  reject: (error: Error) => void;
}

// Directories open in this process: a lock holding our own pid is ours only if listed here.
const openDirs = new Set<string>();

const record = (e: Entry): string => `${JSON.stringify(e.cid === undefined ? { m: e.message } : { c: e.cid, m: e.message })}\n`;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the directory's lock file, or throw when a live process holds it. */
function lock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  try {
    writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
  const held = pid === process.pid ? openDirs.has(dir) : Number.isSafeInteger(pid) && pid > 0 && isAlive(pid);
  if (held) throw new Error(`the data directory ${dir} is in use by process ${pid}`);
  writeFileSync(path, `${process.pid}\n`); // left by a process that died
}

/** What replaying the log found. */
export interface ReplayReport {
  records: number;
  /** Lines skipped: not JSON, not a message, or out of sequence. */
  skipped: number;
  /** Bytes of a last record cut short by a crash, removed. */
  tornBytes: number;
}

export class FileStore implements ChatStore {
  private readonly members = new MemoryPresence();
  private readonly rooms = new RoomHistories();
  private readonly logPath: string;
  private readonly compactMin: number;
  private readonly log: (line: string) => void;
  private file: FileHandle | null = null;
  /** Bytes and records of the log that are committed. */
  private size = 0;
  private records = 0;
  private batches = 0;
  /** Last sequence handed out per room, while some of it is not committed yet. */
  private readonly assigned = new Map<string, number>();
  /** Appends not committed yet, by room and cid: a retry waits for the first. */
  private readonly inFlight = new Map<string, Promise<Appended>>();
  private queue: Queued[] = [];
  private draining: Promise<void> | null = null;
  private broken: Error | null = null;
  private closed = false;
  report: ReplayReport = { records: 0, skipped: 0, tornBytes: 0 };

  private constructor(private readonly dir: string, options: FileStoreOptions) {
    this.logPath = join(dir, LOG_FILE);
    this.compactMin = options.compactMin ?? COMPACT_MIN;
    this.log = options.log ?? (() => {});
  }

  /** Open (creating) the directory, take its lock and replay the log. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    mkdirSync(options.dir, { recursive: true });
    lock(options.dir);
    openDirs.add(options.dir);
    const store = new FileStore(options.dir, options);
    try {
      await store.replay();
    } catch (error) {
      openDirs.delete(options.dir);
      rmSync(join(options.dir, LOCK_FILE), { force: true });
      await store.file?.close();
      throw error;
    }
    return store;
  }

  private async replay(): Promise<void> {
    rmSync(`${this.logPath}.tmp`, { force: true }); // a compaction that did not finish
    let data: Buffer;
    try {
      data = readFileSync(this.logPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      data = Buffer.alloc(0);
      writeFileSync(this.logPath, data);
      fsyncDir(this.dir);
    }
    let start = 0;
    for (let end = data.indexOf(10); end !== -1; start = end + 1, end = data.indexOf(10, start)) {
      const entry = parseRecord(data.toString('utf8', start, end));
      try {
        if (entry === null) throw new Error('not a record');
        this.rooms.add(entry.message, entry.cid);
        this.records++;
      } catch {
        this.report.skipped++;
      }
    }
    this.report.records = this.records;
    this.report.tornBytes = data.length - start;
    this.size = start;
    this.file = await open(this.logPath, 'r+');
    if (this.report.tornBytes > 0) {
      await this.file.truncate(this.size);
      await this.file.datasync();
    }
  }

  async presence(changes: PresenceChange[], rooms: string[] = []): Promise<PresenceState> {
    return this.members.apply(changes, rooms, this.rooms.seqs());
  }

  append(draft: Draft, cid?: string): Promise<Appended> {
    if (this.broken !== null) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    const key = cid === undefined ? '' : `${draft.room}\n${cid}`;
    if (cid !== undefined) {
      const committed = this.rooms.find(draft.room, cid);
      if (committed !== undefined) return Promise.resolve({ message: committed, duplicate: true });
      const first = this.inFlight.get(key);
      if (first !== undefined) return first.then(({ message }) => ({ message, duplicate: true }));
    }
    const seq = (this.assigned.get(draft.room) ?? this.rooms.seq(draft.room)) + 1;
    this.assigned.set(draft.room, seq);
    const entry: Entry = { message: { ...draft, seq }, cid };
    const appended = new Promise<Appended>((resolve, reject) => {
      this.queue.push({ line: record(entry), entry, resolve, reject });
    });
    if (cid !== undefined) {
      this.inFlight.set(key, appended);
      const forget = () => this.inFlight.delete(key);
      appended.then(forget, forget);
    }
    this.kick();
    return appended;
  }

  private kick(): void {
    if (this.draining !== null) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      // Appended by a caller resumed by the last batch, after the loop had looked.
      if (this.queue.length > 0) this.kick();
    });
  }

  /** Write, fsync and commit the queue, batch by batch, until it is empty. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const bytes = Buffer.from(batch.map((q) => q.line).join(''));
      try {
        await this.file!.write(bytes, 0, bytes.length, this.size);
        await this.file!.datasync();
      } catch (error) {
        await this.failBatch(batch, error as Error);
        continue;
      }
      this.size += bytes.length;
      this.records += batch.length;
      this.batches++;
      for (const q of batch) {
        this.rooms.add(q.entry.message, q.entry.cid);
        if (this.assigned.get(q.entry.message.room) === q.entry.message.seq) this.assigned.delete(q.entry.message.room);
        q.resolve({ message: q.entry.message, duplicate: false });
      }
      if (this.records > this.compactMin && this.records > 2 * this.rooms.retained) await this.compact();
    }
  }

  /** Nothing of the batch, nor of what queued behind it, is acknowledged: undo it all. */
  private async failBatch(batch: Queued[], error: Error): Promise<void> {
    const failed = [...batch, ...this.queue];
    this.queue = [];
    this.assigned.clear();
    this.log(`chat store: writing ${this.logPath} failed: ${error.message}`);
    try {
      await this.file!.truncate(this.size);
    } catch (truncating) {
      this.broken = new Error(`the chat store cannot write ${this.logPath} (${(truncating as Error).message}); restart after fixing it`);
      this.log(this.broken.message);
    }
    for (const q of failed) q.reject(error);
  }

  private async compact(): Promise<void> {
    const tmp = `${this.logPath}.tmp`;
    const lines = Array.from(this.rooms.entries(), record);
    const bytes = Buffer.from(lines.join(''));
    try {
      const out = await open(tmp, 'w');
      try {
        await out.write(bytes, 0, bytes.length, 0);
        await out.datasync();
      } finally {
        await out.close();
      }
      await rename(tmp, this.logPath);
      fsyncDir(this.dir);
    } catch (error) {
      // The old log is intact and still ours: carry on with it.
      this.log(`chat store: compaction failed, keeping the full log: ${(error as Error).message}`);
      rmSync(tmp, { force: true });
      return;
    }
    await this.file!.close();
    this.file = await open(this.logPath, 'r+');
    this.size = bytes.length;
    this.records = lines.length;
  }

  async history(room: string, since?: number): Promise<RoomHistory> {
    return this.rooms.history(room, since);
  }

  /** Let queued appends finish, then close the log and release the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.draining !== null) await this.draining;
    await this.file?.close();
    this.file = null;
    rmSync(join(this.dir, LOCK_FILE), { force: true });
    openDirs.delete(this.dir);
  }

  /** The log's committed bytes and records, the messages retained, and the batches written (one fsync each) since open. */
  get stats(): { bytes: number; records: number; retained: number; batches: number } {
    return { bytes: this.size, records: this.records, retained: this.rooms.retained, batches: this.batches };
  }
}

/** One line of the log, or null when it is not a well-formed record. */
function parseRecord(line: string): Entry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { m, c } = value as { m?: ChatMessage; c?: unknown };
  if (typeof m !== 'object' || m === null || typeof m.room !== 'string' || !Number.isSafeInteger(m.seq) || typeof m.id !== 'string') return null;
  if (c !== undefined && typeof c !== 'string') return null;
  return { message: m, cid: c };
}
