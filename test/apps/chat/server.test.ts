// The chat server over real WebSockets (our client), in process: rooms,
// history, presence, typing, nicknames, the error replies and the limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { CloseCode, WebSocket } from '../../../src/index.js';
import { connectRaw, trickle, untilDropped, type RawClient } from '../../support/raw-socket.js';
import { ChatClient, ROOT, nicks, startChat, type Msg } from './helpers.js';

/** GET with the request target sent exactly as given (fetch would resolve dot segments, %2e%2e included). */
function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString() }));
    })
      .on('error', reject)
      .end();
  });
}

const TIMEOUT = { timeout: 30_000 };

describe('chat server', () => {
  test('greets with welcome (id, guest nick, limits) then the room list', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    const welcome = a.received[0]!;
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome['v'], 1);
    assert.match(welcome['id'], new RegExp(`^${chat.nodeId}\\.\\d+$`));
    assert.match(welcome['nick'], /^guest-[0-9a-f]{4}$/);
    assert.deepEqual(welcome['limits'], { nick: 32, room: 64, text: 2000, history: 100, maxPayload: 65536 });
    assert.deepEqual(a.received[1], { v: 1, type: 'rooms', rooms: [], version: 0 });
  });

  test('two clients in a room: join, presence, messages to both, typing to the other', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    const b = await ChatClient.connect(t, chat.wsUrl);

    const joinedA = await a.join('general', 'ann');
    assert.deepEqual(joinedA, { v: 1, type: 'joined', room: 'general', nick: 'ann', members: [{ id: a.id, nick: 'ann' }], version: 1, seq: 0, history: [], gap: false });
    assert.deepEqual(await a.nextOf('rooms'), { v: 1, type: 'rooms', rooms: [{ name: 'general', count: 1, seq: 0 }], version: 1 });

    const joinedB = await b.join('general', 'bob');
    assert.deepEqual(nicks(joinedB['members']), ['ann', 'bob']);
    assert.equal(joinedB['version'], 2);
    assert.deepEqual(await a.nextOf('presence'), {
      v: 1,
      type: 'presence',
      room: 'general',
      members: [{ id: a.id, nick: 'ann' }, { id: b.id, nick: 'bob' }],
      version: 2,
    });
    assert.deepEqual((await a.nextOf('rooms'))['rooms'], [{ name: 'general', count: 2, seq: 0 }]);

    b.send({ v: 1, type: 'typing', typing: true });
    assert.deepEqual(await a.nextOf('typing'), { v: 1, type: 'typing', room: 'general', from: { id: b.id, nick: 'bob' }, typing: true });

    b.send({ v: 1, type: 'message', text: 'hello <b>ann</b>' });
    const atA = await a.nextOf('message');
    const atB = await b.nextOf('message');
    assert.deepEqual(atA, atB);
    assert.deepEqual({ ...atA, id: '?', ts: 0 }, { v: 1, type: 'message', id: '?', room: 'general', seq: 1, from: { id: b.id, nick: 'bob' }, text: 'hello <b>ann</b>', ts: 0 });
    // Everyone connected hears that the room has a new message (for unread counts).
    assert.deepEqual(await a.nextOf('activity'), { v: 1, type: 'activity', room: 'general', seq: 1 });
    assert.match(atA['id'], /^[0-9a-f-]{36}$/);
    assert.equal(typeof atA['ts'], 'number');
    // The sender does not get its own typing indicator.
    assert.deepEqual(b.unread.filter((m) => m.type === 'typing'), []);
    assert.deepEqual(b.received.filter((m) => m.type === 'typing'), []);

    // Disconnect: the other member sees the presence and the count drop.
    b.ws.close();
    assert.deepEqual(nicks((await a.nextOf('presence'))['members']), ['ann']);
    assert.deepEqual((await a.nextOf('rooms'))['rooms'], [{ name: 'general', count: 1, seq: 1 }]);
  });

  test('history: a new joiner gets exactly the last 100 messages, in order', TIMEOUT, async (t) => {
    const chat = await startChat(t, { rateLimit: { perSecond: 1000, burst: 1000 } });
    const a = await ChatClient.connect(t, chat.wsUrl);
    await a.join('history', 'ann');
    for (let i = 1; i <= 105; i++) a.send({ v: 1, type: 'message', text: `message ${i}` });
    await a.nextOf('message', (m) => m['text'] === 'message 105');

    const b = await ChatClient.connect(t, chat.wsUrl);
    const joined = await b.join('history', 'bob');
    const history = joined['history'] as Msg[];
    assert.equal(history.length, 100);
    assert.deepEqual(history.map((m) => m['text']), Array.from({ length: 100 }, (_, i) => `message ${i + 6}`));
    assert.deepEqual(history.map((m) => m['seq']), Array.from({ length: 100 }, (_, i) => i + 6));
    assert.equal(joined['seq'], 105);
    assert.equal(joined['gap'], false);
    assert.ok(history.every((m) => m['room'] === 'history' && m['from'].nick === 'ann' && m['v'] === 1 && m.type === 'message'));
    // Other rooms have their own history.
    const c = await ChatClient.connect(t, chat.wsUrl);
    assert.deepEqual((await c.join('elsewhere', 'cy'))['history'], []);
  });

  test('switching rooms: presence and counts of both rooms; messages stay in their room', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    const b = await ChatClient.connect(t, chat.wsUrl);
    await a.join('one', 'ann');
    await b.join('one', 'bob');
    await a.nextOf('presence', (m) => m['members'].length === 2);

    await b.join('two');
    assert.deepEqual(nicks((await a.nextOf('presence'))['members']), ['ann']);
    assert.deepEqual((await a.nextOf('rooms'))['rooms'], [
      { name: 'one', count: 1, seq: 0 },
      { name: 'two', count: 1, seq: 0 },
    ]);

    b.send({ v: 1, type: 'message', text: 'in two' });
    await b.nextOf('message', (m) => m['text'] === 'in two');
    a.send({ v: 1, type: 'message', text: 'in one' });
    await a.nextOf('message', (m) => m['text'] === 'in one');
    // a's own message came after b's: had b's reached a, it would be before it.
    assert.deepEqual(a.received.filter((m) => m.type === 'message').map((m) => m['text']), ['in one']);

    b.send({ v: 1, type: 'leave' });
    assert.deepEqual(await b.nextOf('left'), { v: 1, type: 'left', room: 'two' });
    // A room with a history stays listed when its last member leaves.
    assert.deepEqual((await a.nextOf('rooms'))['rooms'], [{ name: 'one', count: 1, seq: 1 }, { name: 'two', count: 0, seq: 1 }]);
    b.send({ v: 1, type: 'message', text: 'nowhere' });
    assert.deepEqual(await b.nextOf('error'), { v: 1, type: 'error', code: 'not_in_room', message: 'join a room before sending messages' });
  });

  test('nickname change updates presence and later messages', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    const b = await ChatClient.connect(t, chat.wsUrl);
    await a.join('room', 'ann');
    await b.join('room', 'bob');
    await b.nextOf('rooms'); // the count update that follows a join
    b.send({ v: 1, type: 'nick', nick: '  robert ' });
    assert.deepEqual(await b.next(), { v: 1, type: 'nick', nick: 'robert' });
    assert.deepEqual(nicks((await a.nextOf('presence', (m) => m['members'].some((x: Msg) => x['nick'] === 'robert')))['members']), ['ann', 'robert']);
    b.send({ v: 1, type: 'message', text: 'renamed' });
    assert.equal((await a.nextOf('message'))['from'].nick, 'robert');
  });

  test('error replies come in request order and name the problem', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    await a.join('errors', 'ann');
    await a.nextOf('rooms'); // the count update that follows a join
    a.ws.send('{"v":1,"type":"message","text":');
    a.send({ v: 1, type: 'message', text: 'x'.repeat(2001) });
    a.ws.send(Buffer.from('binary'), { binary: true });
    a.send({ v: 1, type: 'message', text: 'still fine' });
    assert.deepEqual(await a.next(), { v: 1, type: 'error', code: 'bad_json', message: 'the message is not valid JSON' });
    assert.deepEqual(await a.next(), { v: 1, type: 'error', code: 'too_long', message: "'text' is longer than 2000 characters" });
    assert.deepEqual(await a.next(), { v: 1, type: 'error', code: 'binary_not_supported', message: 'binary messages are not supported: send JSON text' });
    assert.equal((await a.next())['text'], 'still fine');
    assert.equal(a.ws.readyState, a.ws.OPEN);
  });

  test('five malformed messages within the window close the connection with 1008', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    for (let i = 0; i < 5; i++) a.ws.send(`not json ${i}`);
    for (let i = 0; i < 5; i++) assert.equal((await a.next())['code'], 'bad_json');
    assert.deepEqual(await a.closed, { code: CloseCode.PolicyViolation, reason: 'Too many invalid messages' });
  });

  test('four malformed messages do not', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    for (let i = 0; i < 4; i++) a.ws.send('{');
    a.send({ v: 1, type: 'rooms' });
    for (let i = 0; i < 4; i++) assert.equal((await a.next())['code'], 'bad_json');
    assert.equal((await a.next()).type, 'rooms');
    assert.equal(a.ws.readyState, a.ws.OPEN);
  });

  test('a message above maxPayload (64 KiB) closes with 1009', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    a.send({ v: 1, type: 'message', text: 'x'.repeat(64 * 1024) });
    assert.equal((await a.closed).code, CloseCode.MessageTooBig);
  });

  test('rate limit: messages beyond the bucket get rate_limited, each one', TIMEOUT, async (t) => {
    // No refill: exactly `burst` messages pass, whatever the timing.
    const chat = await startChat(t, { rateLimit: { perSecond: 0, burst: 5 } });
    const a = await ChatClient.connect(t, chat.wsUrl);
    for (let i = 1; i <= 8; i++) a.send({ v: 1, type: 'rooms' });
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await a.next());
    assert.deepEqual(replies.map((m) => m.type), ['rooms', 'rooms', 'rooms', 'rooms', 'rooms', 'error', 'error', 'error']);
    assert.deepEqual(replies[5], { v: 1, type: 'error', code: 'rate_limited', message: 'too many messages: at most 0 per second, bursts of 5' });
    // Rate-limited messages are not abuse: still open.
    assert.equal(a.ws.readyState, a.ws.OPEN);
  });

  test('rate limit: a sustained flood is closed with 1008', TIMEOUT, async (t) => {
    const chat = await startChat(t, { rateLimit: { perSecond: 0, burst: 1 }, flood: { limit: 10, windowMs: 60_000 } });
    const a = await ChatClient.connect(t, chat.wsUrl);
    for (let i = 0; i < 11; i++) a.send({ v: 1, type: 'rooms' });
    assert.deepEqual(await a.closed, { code: CloseCode.PolicyViolation, reason: 'Rate limit exceeded repeatedly' });
    assert.deepEqual(a.received.slice(2).map((m) => m['code'] ?? m.type), ['rooms', ...Array(10).fill('rate_limited')]);
  });

  test('a dead client (no pongs) leaves presence through the heartbeat', TIMEOUT, async (t) => {
    const chat = await startChat(t, { heartbeat: { intervalMs: 50, timeoutMs: 50 } });
    const a = await ChatClient.connect(t, chat.wsUrl);
    await a.join('hb', 'ann');
    // It joins the moment it opens, then never answers a ping: only its
    // silence afterwards counts, so it cannot be dropped before joining.
    const dead = new WebSocket(chat.wsUrl, { autoPong: false });
    t.after(() => dead.terminate());
    dead.on('open', () => dead.send(JSON.stringify({ v: 1, type: 'join', room: 'hb', nick: 'ghost' })));
    const deadClosed = new Promise<number>((resolve) => dead.once('close', (code: number) => resolve(code)));
    assert.deepEqual(nicks((await a.nextOf('presence'))['members']), ['ann', 'ghost']);
    assert.deepEqual(nicks((await a.nextOf('presence'))['members']), ['ann']);
    // The server terminated it: no closing handshake, 1006 on its side.
    assert.equal(await deadClosed, CloseCode.AbnormalClosure);
    assert.equal(a.ws.readyState, a.ws.OPEN);
  });

  test('close() takes members out of presence and closes clients with 1001', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const a = await ChatClient.connect(t, chat.wsUrl);
    await a.join('bye', 'ann');
    await chat.close();
    assert.deepEqual(await a.closed, { code: CloseCode.GoingAway, reason: 'Server shutting down' });
    assert.deepEqual(nicks(a.received.filter((m) => m.type === 'presence').at(-1)?.['members'] ?? ['(none)']), []);
  });

  test('browsers from another origin are refused; the page origin is accepted', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const foreign = new WebSocket(chat.wsUrl, { origin: 'http://evil.example' });
    const error = await new Promise<Error>((resolve) => foreign.once('error', resolve));
    assert.match(error.message, /401/);
    const own = await ChatClient.connect(t, chat.wsUrl, { origin: chat.url.slice(0, -1) });
    assert.equal(own.ws.readyState, own.ws.OPEN);
  });

  test('HTTP: the page and its assets with a strict CSP; 404 and 426 elsewhere', TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const page = await fetch(chat.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self';/);
    assert.match(await page.text(), /<script type="module" src="app.js"><\/script>/);
    for (const [path, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['connection.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
    ]) {
      const res = await fetch(chat.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type, path);
      await res.arrayBuffer();
    }
    const missing = await fetch(`${chat.url}nope.js`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    assert.equal((await get(chat.port, '/%2e%2e/server/main.js')).status, 404);
    const ws = await fetch(`${chat.url}ws`);
    assert.equal(ws.status, 426);
    await ws.arrayBuffer();
  });

  test("HTTP: the library's ReconnectingWebSocket modules, byte for byte as built, as text/javascript; nothing else under /lib/", TIMEOUT, async (t) => {
    const chat = await startChat(t);
    const app = await get(chat.port, '/app.js');
    assert.match(app.body, /^import \{ ReconnectingWebSocket \} from '\.\/lib\/reconnect\/web\.js';$/m);
    // web.js and every module it imports, resolved as the browser resolves them.
    const served: string[] = [];
    const visit = async (url: string): Promise<void> => {
      if (served.includes(url)) return;
      served.push(url);
      const res = await get(chat.port, url);
      assert.equal(res.status, 200, url);
      assert.equal(res.type, 'text/javascript; charset=utf-8', url);
      assert.equal(res.body, readFileSync(`${ROOT}dist/esm/reconnect/${url.split('/').pop()}`, 'utf8'), `${url} is the library's build`);
      for (const [, spec] of res.body.matchAll(/\bfrom '([^']+)'/g)) await visit(new URL(spec!, `http://x${url}`).pathname);
    };
    await visit('/lib/reconnect/web.js');
    assert.deepEqual(served.sort(), ['/lib/reconnect/backoff.js', '/lib/reconnect/reconnector.js', '/lib/reconnect/send-queue.js', '/lib/reconnect/web.js']);
    // The request target is a key of the files read at start, never a path: dot segments, encoded or not, name nothing.
    for (const path of [
      '/lib/../package.json',
      '/lib/reconnect/../../package.json',
      '/lib/reconnect/../../../../../package.json',
      '/lib/%2e%2e/package.json',
      '/lib/reconnect/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/lib/reconnect/%2E%2E%2F%2E%2E%2F..%2Fserver%2Fmain.js',
      '/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/lib/reconnect/..%2fweb.js',
      '/lib//reconnect/web.js',
      '/lib/reconnect/./web.js',
      '/lib/reconnect/web.d.ts',
      '/lib/reconnect/node.js', // the library's Node flavour is not the page's
      '/lib/reconnect/index.js',
      '/lib/reconnect/',
      '/lib/',
      '/lib',
    ]) {
      const res = await get(chat.port, path);
      assert.deepEqual([res.status, res.body], [404, 'Not Found\n'], path);
    }
  });

  test('slow peers: tight node:http timeouts, and trickled request heads are dropped by the handshake guard', TIMEOUT, async (t) => {
    const chat = await startChat(t, { handshakeTimeout: 200 });
    const http = chat.wss.options.server as Server & { connectionsCheckingInterval?: number };
    const { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval } = http;
    assert.deepEqual(
      { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval },
      { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 },
    );
    // A fresh connection, and one that fetched the page first (kept alive).
    const fresh = await connectRaw(chat.port);
    t.after(() => fresh.destroy());
    await trickle(fresh, 'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n');
    const reused = await connectRaw(chat.port);
    t.after(() => reused.destroy());
    await reused.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const head = await reused.readHttpHead();
    assert.equal(head.status, 200);
    await reused.read(Number(head.headers['content-length']));
    await trickle(reused, 'GET /ws HTTP/1.1\r\nHost: localhost\r\n');
    assert.deepEqual(await Promise.all([untilDropped(fresh, t.signal), untilDropped(reused, t.signal)]), ['', '']);
    const a = await ChatClient.connect(t, chat.wsUrl);
    assert.equal(a.received[0]!.type, 'welcome');
  });
});
