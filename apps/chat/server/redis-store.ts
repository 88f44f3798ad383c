/**
 * The chat's shared state in Redis, for several nodes behind one Redis
 * (`hyperws chat --redis URL`). Uses the Redis adapter's publisher
 * connection (`adapter.client`); the adapter owns it and closes it.
 *
 * Keys (prefix 'hyperws-chat:'):
 *   members:<room>   hash  member id -> nickname (member id = <node id>.<n>)
 *   rooms            hash  room -> member count (rooms with members only)
 *   version          int   bumped by every presence change
 *   node:<node id>   string with a TTL, refreshed by the live node
 *   seq              hash  room -> latest message sequence (never expires: numbers are never reused)
 *   history:<room>   list  message JSON, newest first, at most LIMITS.history
 *   cidlog:<room>    list  the client id of each history entry ('' for none), in step with history
 *   cids:<room>      hash  client id -> message JSON, for the entries still in history
 *
 * A message is numbered and stored by one script (APPEND): the sequence
 * increment, the push, the trim and the client-id bookkeeping are atomic, so
 * two nodes appending to one room never share or skip a number, and a retried
 * send (same cid) finds the first one instead of being stored twice.
 *
 * Every presence change runs as one Lua script: the change, the recount,
 * the version bump and the snapshot read are atomic, so a snapshot and its
 * version always agree. A node that dies without cleaning up leaves members
 * behind until its node key expires (nodeTtlMs): then any live node's
 * periodic sweep removes them and publishes the new presence. A node whose
 * own key expired (Redis unreachable for longer than the TTL) registers its
 * members again when it notices.
 *
 * Scripts touch keys they compute, so this runs on a single Redis (or a
 * primary with replicas), not on Redis Cluster.
 */
import { historyAfter } from './history.js';
import { LIMITS, type ChatMessage, type Member } from './protocol.js';
import { byNickThenId, roomList, type Appended, type ChatStore, type Draft, type PresenceChange, type PresenceState, type RoomHistory } from './store.js';

/** The part of an ioredis client this store uses. */
export interface RedisCommands {
  status: string;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  del(key: string): Promise<number>;
}

export const KEY_PREFIX = 'hyperws-chat:';
/** History of a room nobody writes to expires after this (seconds). */
export const HISTORY_TTL_SECONDS = 7 * 24 * 3600;

// The version starts from Redis's clock (seconds * 1000) when the key is
// missing, so that after a Redis restart versions still grow past what
// clients have seen (unless the old counter ran over 1000 changes a second).
const BUMP = `
local function bump()
  if redis.call('EXISTS', p .. 'version') == 0 then redis.call('SET', p .. 'version', redis.call('TIME')[1] * 1000) end
  return redis.call('INCR', p .. 'version')
end`;

const PRESENCE = `
local p = ARGV[1]
local req = cjson.decode(ARGV[2])
${BUMP}
local touched, order = {}, {}
local function touch(r) if not touched[r] then touched[r] = true; order[#order + 1] = r end end
for _, c in ipairs(req.changes) do
  if c.from ~= '' then redis.call('HDEL', p .. 'members:' .. c.from, c.id); touch(c.from) end
  if c.to ~= '' then redis.call('HSET', p .. 'members:' .. c.to, c.id, c.nick); touch(c.to) end
end
local changed = #order
for _, r in ipairs(order) do
  local n = redis.call('HLEN', p .. 'members:' .. r)
  if n == 0 then redis.call('HDEL', p .. 'rooms', r) else redis.call('HSET', p .. 'rooms', r, n) end
end
local version
if changed > 0 then version = bump() else version = tonumber(redis.call('GET', p .. 'version') or '0') end
for _, r in ipairs(req.rooms) do touch(r) end
local rooms = {}
for _, r in ipairs(order) do rooms[#rooms + 1] = { r, redis.call('HGETALL', p .. 'members:' .. r) } end
return cjson.encode({ version = version, rooms = rooms, counts = redis.call('HGETALL', p .. 'rooms'), seqs = redis.call('HGETALL', p .. 'seq') })
`;

const SWEEP = `
local p = ARGV[1]
${BUMP}
local alive, order = {}, {}
for _, r in ipairs(redis.call('HKEYS', p .. 'rooms')) do
  local key = p .. 'members:' .. r
  local removed = false
  for _, id in ipairs(redis.call('HKEYS', key)) do
    local node = string.match(id, '^([^.]+)%.')
    if node then
      if alive[node] == nil then alive[node] = redis.call('EXISTS', p .. 'node:' .. node) == 1 end
      if not alive[node] then redis.call('HDEL', key, id); removed = true end
    end
  end
  if removed then
    order[#order + 1] = r
    local n = redis.call('HLEN', key)
    if n == 0 then redis.call('HDEL', p .. 'rooms', r) else redis.call('HSET', p .. 'rooms', r, n) end
  end
end
if #order == 0 then return '' end
local rooms = {}
for _, r in ipairs(order) do rooms[#rooms + 1] = { r, redis.call('HGETALL', p .. 'members:' .. r) } end
return cjson.encode({ version = bump(), rooms = rooms, counts = redis.call('HGETALL', p .. 'rooms'), seqs = redis.call('HGETALL', p .. 'seq') })
`;

/** Refresh a node key; returns 1 if it still existed (0: first time, or it expired). */
const REFRESH = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return existed
`;

// The message JSON comes in two halves around its sequence number, so that
// Lua never re-encodes it (cjson would round large numbers such as ts).
const APPEND = `
local p, room, cid = ARGV[1], ARGV[2], ARGV[3]
local limit = tonumber(ARGV[6])
local hist, order, cids = p .. 'history:' .. room, p .. 'cidlog:' .. room, p .. 'cids:' .. room
if cid ~= '' then
  local previous = redis.call('HGET', cids, cid)
  if previous then return { 1, previous } end
end
local seq = redis.call('HINCRBY', p .. 'seq', room, 1)
local message = ARGV[4] .. seq .. ARGV[5]
redis.call('LPUSH', hist, message)
redis.call('LPUSH', order, cid)
if cid ~= '' then redis.call('HSET', cids, cid, message) end
while redis.call('LLEN', hist) > limit do
  redis.call('RPOP', hist)
  local old = redis.call('RPOP', order)
  if old and old ~= '' then redis.call('HDEL', cids, old) end
end
redis.call('EXPIRE', hist, ARGV[7])
redis.call('EXPIRE', order, ARGV[7])
if redis.call('EXISTS', cids) == 1 then redis.call('EXPIRE', cids, ARGV[7]) end
return { 0, message }
`;

// The room's sequence and its retained history, read together.
const HISTORY = `
local p, room = ARGV[1], ARGV[2]
return { tonumber(redis.call('HGET', p .. 'seq', room) or '0'), redis.call('LRANGE', p .. 'history:' .. room, 0, tonumber(ARGV[3]) - 1) }
`;

export interface RedisStoreOptions {
  /** This node's id: no '.' (member ids are `${nodeId}.${n}`). */
  nodeId: string;
  /** Lifetime of the node key; refreshed and swept every third of it (default 15 s). */
  nodeTtlMs?: number;
  /** Presence changed by someone else's sweep or by our own re-registration: publish it. */
  onChange: (state: PresenceState) => void;
  /** This node's members, to register again after our node key expired. */
  localMembers: () => PresenceChange[];
  onError: (error: Error) => void;
}

export const DEFAULT_NODE_TTL_MS = 15_000;

export class RedisStore implements ChatStore {
  private readonly ttl: number;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private ticking = false;

  constructor(
    private readonly redis: RedisCommands,
    private readonly options: RedisStoreOptions,
  ) {
    if (options.nodeId.includes('.')) throw new TypeError('nodeId must not contain "."');
    this.ttl = options.nodeTtlMs ?? DEFAULT_NODE_TTL_MS;
  }

  /** Register this node, then refresh and sweep periodically. */
  async start(): Promise<void> {
    await this.redis.eval(REFRESH, 1, this.nodeKey, this.ttl);
    this.timer = setInterval(() => void this.tick(), Math.max(10, Math.floor(this.ttl / 3)));
    this.timer.unref();
  }

  private get nodeKey(): string {
    return `${KEY_PREFIX}node:${this.options.nodeId}`;
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed || this.redis.status !== 'ready') return;
    this.ticking = true;
    try {
      const existed = await this.redis.eval(REFRESH, 1, this.nodeKey, this.ttl);
      if (existed === 0 && !this.closed) {
        // Our key expired: another node may have swept our members. Register them again.
        const changes = this.options.localMembers();
        if (changes.length > 0) this.options.onChange(await this.presence(changes));
      }
      const swept = await this.redis.eval(SWEEP, 0, KEY_PREFIX);
      if (typeof swept === 'string' && swept !== '' && !this.closed) this.options.onChange(decodeState(swept));
    } catch (error) {
      this.options.onError(error as Error);
    } finally {
      this.ticking = false;
    }
  }

  async presence(changes: PresenceChange[], rooms: string[] = []): Promise<PresenceState> {
    const request = JSON.stringify({
      changes: changes.map((c) => ({ id: c.id, nick: c.nick, from: c.from ?? '', to: c.to ?? '' })),
      rooms,
    });
    const reply = await this.redis.eval(PRESENCE, 0, KEY_PREFIX, request);
    return decodeState(String(reply));
  }

  async append(draft: Draft, cid?: string): Promise<Appended> {
    const json = JSON.stringify(draft);
    const reply = await this.redis.eval(APPEND, 0, KEY_PREFIX, draft.room, cid ?? '', `${json.slice(0, -1)},"seq":`, '}', LIMITS.history, HISTORY_TTL_SECONDS);
    const [duplicate, message] = list(reply);
    return { message: JSON.parse(String(message)) as ChatMessage, duplicate: duplicate === 1 };
  }

  async history(room: string, since?: number): Promise<RoomHistory> {
    const [seq, items] = list(await this.redis.eval(HISTORY, 0, KEY_PREFIX, room, LIMITS.history));
    const retained: ChatMessage[] = [];
    const newestFirst = list(items);
    for (let i = newestFirst.length - 1; i >= 0; i--) {
      try {
        const message = JSON.parse(String(newestFirst[i])) as ChatMessage;
        if (Number.isSafeInteger(message.seq)) retained.push(message);
      } catch {
        // Not ours: skip it rather than fail the join.
      }
    }
    return historyAfter(retained, Number(seq), since);
  }

  /** Stop the timer and drop the node key (members must have been removed already). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.redis.status === 'ready') await this.redis.del(this.nodeKey).catch(() => {});
  }
}

/** cjson encodes an empty Lua table as {}: read that as an empty list. */
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** HGETALL's flat [k1, v1, k2, v2, ...] as pairs. */
function pairs(flat: unknown): [string, string][] {
  const items = list(flat);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push([String(items[i]), String(items[i + 1])]);
  return out;
}

export function decodeState(json: string): PresenceState {
  const raw = JSON.parse(json) as { version: number; rooms: unknown; counts: unknown; seqs: unknown };
  const rooms = new Map<string, Member[]>();
  for (const entry of list(raw.rooms)) {
    const [name, flat] = list(entry);
    rooms.set(String(name), pairs(flat).map(([id, nick]) => ({ id, nick })).sort(byNickThenId));
  }
  const counts = pairs(raw.counts).map(([name, count]): [string, number] => [name, Number(count)]);
  const seqs = pairs(raw.seqs).map(([name, seq]): [string, number] => [name, Number(seq)]);
  return { version: Number(raw.version), rooms, counts: roomList(counts, seqs) };
}
