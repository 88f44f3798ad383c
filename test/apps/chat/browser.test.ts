// The chat page in headless Chromium (playwright-core): two pages talking,
// markup shown as text, presence and room lists, reconnection (the library's
// ReconnectingWebSocket, served as ES modules) after the `hyperws chat`
// process restarts on the same port with a message typed meanwhile sent
// once, the online event's shortcut, and one room across two
// processes joined by a real redis-server. Saves test-artifacts/chat.png.
// Every wait is a DOM condition (playwright waits), never a duration.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { startRedis } from '../../support/redis.js';
import { chromiumPath, redisServerPath, skipReason } from '../../support/system.js';
import { ROOT, startChat, startChatProcess, tempDataDir } from './helpers.js';
import { browser, messages, openChat, say, SLOW_RETRY, status, texts } from './page-helpers.js';

const chrome = chromiumPath();
const OPTIONS = { skip: skipReason(chrome), timeout: 120_000 };
const WITH_REDIS = { skip: skipReason(chrome, redisServerPath()), timeout: 120_000 };
const XSS = '<img src=x onerror=alert(1)>';

describe('chat page in Chromium', () => {
  test('two pages: nicknames, presence, rooms, messages, typing; markup stays text', OPTIONS, async (t) => {
    const chat = await startChat(t);
    const b = await browser(t);
    const ann = await openChat(b, chat.url, 'lobby');
    // Ann sets her nickname with the form; Bob's comes from storage.
    await ann.page.locator('#nick').fill('ann');
    await ann.page.locator('#nick-form button').click();
    await texts(ann.page, '#members li', ['ann']);
    const bob = await openChat(b, chat.url, 'lobby', 'bob');

    for (const { page } of [ann, bob]) {
      await texts(page, '#room-title', ['lobby']);
      await texts(page, '#members li', ['ann', 'bob']);
      await texts(page, '#rooms .room', ['lobby 2']);
      await texts(page, '#status', ['Online']);
    }
    await texts(bob.page, '#members li.me', ['bob']);

    await say(ann.page, 'hello bob');
    await messages(bob.page, [['ann', 'hello bob']]);
    await messages(ann.page, [['ann', 'hello bob']]);

    // Typing indicator, cleared by the typist's message.
    await bob.page.locator('#text').pressSequentially('sure');
    await texts(ann.page, '#typing', ['bob is typing…']);
    await bob.page.locator('#text').fill(XSS);
    await bob.page.locator('#text').press('Enter');
    for (const { page } of [ann, bob]) {
      await messages(page, [
        ['ann', 'hello bob'],
        ['bob', XSS],
      ]);
      assert.equal(await page.locator('#messages img').count(), 0);
      assert.equal(await page.locator('#messages li').last().locator('.text').evaluate((e) => e.childElementCount), 0);
    }
    await texts(ann.page, '#typing', ['']);

    mkdirSync(`${ROOT}test-artifacts`, { recursive: true });
    await ann.page.screenshot({ path: `${ROOT}test-artifacts/chat.png`, fullPage: true });

    // Ann switches room with the form, then comes back with the room list.
    await ann.page.locator('#room-input').fill('side');
    await ann.page.locator('#join-form button').click();
    await texts(ann.page, '#room-title', ['side']);
    await texts(ann.page, '#members li', ['ann']);
    await messages(ann.page, []);
    await texts(bob.page, '#members li', ['bob']);
    await texts(bob.page, '#rooms .room', ['lobby 1', 'side 1']);
    await ann.page.locator('#rooms .room[data-room="lobby"]').click();
    await texts(ann.page, '#room-title', ['lobby']);
    await messages(ann.page, [
      ['ann', 'hello bob'],
      ['bob', XSS],
    ]);
    await texts(bob.page, '#members li', ['ann', 'bob']);
    await texts(ann.page, '#rooms .room', ['lobby 2']);

    // Bob leaves (closes the page): Ann's presence and counts follow.
    await bob.page.context().close();
    await texts(ann.page, '#members li', ['ann']);
    await texts(ann.page, '#rooms .room', ['lobby 1']);
    assert.deepEqual(ann.problems, []);
    assert.deepEqual(bob.problems, []);
  });

  test("reconnects with the library's ReconnectingWebSocket after the chat server process restarts on the same port; a message typed meanwhile is sent once, after; history kept, or a notice when lost", OPTIONS, async (t) => {
    const dir = tempDataDir(t);
    const first = await startChatProcess(t, ['--port', '0', '--data-dir', dir]);
    const port = first.port;
    const b = await browser(t);
    const ann = await openChat(b, first.url, 'restart', 'ann');
    const bob = await openChat(b, first.url, 'restart', 'bob');
    // What Bob's page loaded, and what went over its WebSockets, in order.
    const loaded = new Map<string, string>();
    bob.page.on('response', (res) => loaded.set(new URL(res.url()).pathname, `${res.status()} ${res.headers()['content-type'] ?? ''}`));
    const wire: string[] = [];
    bob.page.on('websocket', (ws) => {
      wire.push('socket');
      ws.on('framesent', (f) => wire.push(`sent ${String(f.payload)}`));
      ws.on('framereceived', (f) => wire.push(`received ${String(f.payload)}`));
    });
    await bob.page.reload();
    await status(bob.page, 'online');
    // The page's ReconnectingWebSocket is the library's build, served as a module; the page's own backoff is gone.
    for (const name of ['web', 'reconnector', 'backoff', 'send-queue']) assert.equal(loaded.get(`/lib/reconnect/${name}.js`), '200 text/javascript; charset=utf-8', name);
    assert.equal(loaded.has('/backoff.js'), false);
    await texts(ann.page, '#members li', ['ann', 'bob']);
    await say(ann.page, 'before');
    await messages(bob.page, [['ann', 'before']]);

    await first.kill(); // a crash: no closing handshake
    for (const { page } of [ann, bob]) {
      await status(page, 'reconnecting');
      assert.match((await page.locator('#status').textContent()) ?? '', /^Reconnecting( in \d+ s)?…$/);
      await texts(page, '#members li', []);
    }
    // Typed during the outage: shown as sending, kept in the outbox, not sent anywhere yet.
    await say(bob.page, 'typed while down');
    await messages(bob.page, [['ann', 'before'], ['bob', 'typed while down']]);
    await texts(bob.page, '#messages li.pending .sending', ['sending…']);
    assert.equal(wire.filter((w) => w.includes('typed while down')).length, 0);

    const second = await startChatProcess(t, ['--port', String(port), '--data-dir', dir]);
    assert.equal(second.port, port);
    for (const { page } of [ann, bob]) {
      await status(page, 'online');
      await texts(page, '#members li', ['ann', 'bob']);
      // Delivered once: stored once (one seq), shown once, no longer pending.
      await messages(page, [['ann', 'before'], ['bob', 'typed while down']]);
      assert.equal(await page.locator('#messages li.pending').count(), 0);
    }
    // On the wire: sent once, on the new connection, after its join was answered, before its ack.
    const sent = wire.findIndex((w) => w.startsWith('sent') && w.includes('typed while down'));
    const cid = (JSON.parse(wire[sent]!.slice('sent '.length)) as { cid: string }).cid;
    const acked = wire.findIndex((w) => w.startsWith('received') && w.includes('"type":"ack"') && w.includes(cid));
    const lastSocket = wire.lastIndexOf('socket');
    const joined = wire.findIndex((w, i) => i > lastSocket && w.startsWith('received') && w.includes('"type":"joined"'));
    assert.ok(lastSocket < joined && joined < sent && sent < acked, wire.join('\n'));
    // (Counted up to the ack: a send that waited 5 s for one is resent by the outbox, as it should be.)
    assert.equal(wire.slice(0, acked).filter((w) => w.startsWith('sent') && w.includes(cid)).length, 1, wire.join('\n'));

    await say(bob.page, 'after');
    for (const { page } of [ann, bob]) {
      // The history came back from the data directory, nothing twice, no notice.
      await messages(page, [['ann', 'before'], ['bob', 'typed while down'], ['bob', 'after']]);
      assert.equal(await page.locator('#messages li.notice.gap').count(), 0);
    }

    // A server that lost its data (a fresh directory): the page says so.
    await second.kill();
    await status(ann.page, 'reconnecting');
    const third = await startChatProcess(t, ['--port', String(port), '--data-dir', tempDataDir(t)]);
    assert.equal(third.port, port);
    for (const { page } of [ann, bob]) {
      await status(page, 'online');
      await messages(page, []);
      await texts(page, '#messages li.notice.gap', ['Earlier messages could not be restored: some of what was said while you were away is missing.']);
    }
  });

  test("a page that was offline says so, comes back when the network does (the online event, not its 10-minute backoff), and gets exactly what it missed", OPTIONS, async (t) => {
    const chat = await startChat(t);
    const b = await browser(t);
    const ann = await openChat(b, chat.url, 'resume', 'ann');
    const bob = await openChat(b, chat.url, 'resume', 'bob', {}, SLOW_RETRY);
    await texts(ann.page, '#members li', ['ann', 'bob']);
    await say(ann.page, 'one');
    await messages(bob.page, [['ann', 'one']]);
    // Mark what Bob shows: a resume keeps it, a fresh join would replace it.
    await bob.page.locator('#messages li.message').first().evaluate((li) => li.setAttribute('data-marked', ''));

    await bob.page.context().setOffline(true);
    for (const ws of chat.wss.clients) ws.terminate(); // both drop; only Ann can come back
    await status(bob.page, 'offline');
    await texts(bob.page, '#status', ['Offline: waiting for the network…']);
    await say(ann.page, 'two');
    await say(ann.page, 'three');
    await messages(ann.page, [['ann', 'one'], ['ann', 'two'], ['ann', 'three']]);
    await bob.page.context().setOffline(false);
    await status(bob.page, 'online');
    await messages(bob.page, [['ann', 'one'], ['ann', 'two'], ['ann', 'three']]);
    assert.equal(await bob.page.locator('#messages li.message[data-marked]').count(), 1);
    assert.equal(await bob.page.locator('#messages li.notice.gap').count(), 0);
    assert.deepEqual(await bob.page.locator('#messages li.message').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-seq'))), ['1', '2', '3']);
    assert.deepEqual(ann.problems, []);
    // Chromium logs each connection refused while offline; nothing else.
    assert.deepEqual(bob.problems.filter((p) => !p.includes('net::ERR_INTERNET_DISCONNECTED')), []);
  });

  test('a close the library must not retry (1008): offline, the composer off; a reload starts again', OPTIONS, async (t) => {
    const chat = await startChat(t);
    const b = await browser(t);
    const ann = await openChat(b, chat.url, 'policy', 'ann');
    await texts(ann.page, '#members li', ['ann']);
    for (const ws of chat.wss.clients) ws.close(1008, 'Too many invalid messages');
    await status(ann.page, 'offline');
    await texts(ann.page, '#status', ['Offline: reload to reconnect']);
    assert.equal(await ann.page.locator('#text').isDisabled(), true);
    await texts(ann.page, '#members li', []);
    await ann.page.reload();
    await status(ann.page, 'online');
    await texts(ann.page, '#members li', ['ann']);
    assert.deepEqual(ann.problems, []);
  });

  test('one room across two chat processes joined by redis-server', WITH_REDIS, async (t) => {
    const redis = await startRedis();
    t.after(() => redis.close());
    const node1 = await startChatProcess(t, ['--port', '0', '--redis', redis.url]);
    const node2 = await startChatProcess(t, ['--port', '0', '--redis', redis.url]);
    const b = await browser(t);
    const ann = await openChat(b, node1.url, 'shared', 'ann');
    const bob = await openChat(b, node2.url, 'shared', 'bob');
    for (const { page } of [ann, bob]) {
      await texts(page, '#members li', ['ann', 'bob']);
      await texts(page, '#rooms .room', ['shared 2']);
    }
    await say(ann.page, 'from node 1');
    await messages(bob.page, [['ann', 'from node 1']]);
    await say(bob.page, 'from node 2');
    for (const { page } of [ann, bob]) {
      await messages(page, [
        ['ann', 'from node 1'],
        ['bob', 'from node 2'],
      ]);
    }
    // A latecomer on node 1 gets the history kept in Redis.
    const cy = await openChat(b, node1.url, 'shared', 'cy');
    await messages(cy.page, [
      ['ann', 'from node 1'],
      ['bob', 'from node 2'],
    ]);
    await texts(bob.page, '#members li', ['ann', 'bob', 'cy']);
    await texts(bob.page, '#rooms .room', ['shared 3']);
    for (const p of [ann, bob, cy]) assert.deepEqual(p.problems, []);
  });
});
