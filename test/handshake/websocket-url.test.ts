import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebSocketUrl, pathnameOf, webSocketUrl } from '../../src/handshake/websocket-url.js';

describe('parseWebSocketUrl', () => {
  it('keeps ws: and wss:, maps http: to ws: and https: to wss:', () => {
    const cases: [string, string][] = [
      ['ws://example.com/chat?x=1', 'ws://example.com/chat?x=1'],
      ['wss://example.com', 'wss://example.com/'],
      ['http://example.com:8080/a', 'ws://example.com:8080/a'],
      ['https://example.com/a', 'wss://example.com/a'],
      ['HTTPS://Example.COM:443/', 'wss://example.com/'],
    ];
    for (const [input, href] of cases) {
      const parsed = parseWebSocketUrl(input);
      assert.ok(parsed.ok, input);
      assert.equal(parsed.url.href, href, input);
    }
  });

  it('says why a string is refused: no URL, another scheme, a fragment', () => {
    assert.deepEqual(parseWebSocketUrl('not a url'), { ok: false, problem: 'invalid' });
    assert.deepEqual(parseWebSocketUrl('/relative'), { ok: false, problem: 'invalid' });
    assert.deepEqual(parseWebSocketUrl('ws://[::1'), { ok: false, problem: 'invalid' });
    assert.deepEqual(parseWebSocketUrl('ftp://host/'), { ok: false, problem: 'scheme', scheme: 'ftp' });
    assert.deepEqual(parseWebSocketUrl('file:///tmp/x'), { ok: false, problem: 'scheme', scheme: 'file' });
    assert.deepEqual(parseWebSocketUrl('ws://host/#frag'), { ok: false, problem: 'fragment' });
  });

  it('resolves a relative input against a base (a redirect Location)', () => {
    const base = new URL('wss://example.com/a/b?q');
    const parsed = parseWebSocketUrl('../c?r', { base });
    assert.ok(parsed.ok);
    assert.equal(parsed.url.href, 'wss://example.com/c?r');
    const other = parseWebSocketUrl('https://other.example/', { base });
    assert.ok(other.ok);
    assert.equal(other.url.href, 'wss://other.example/');
  });

  it('an empty fragment ("ws://h/#") passes unless refuseEmptyFragment (the WHATWG rule)', () => {
    const allowed = parseWebSocketUrl('ws://host/#');
    assert.ok(allowed.ok);
    assert.equal(allowed.url.href, 'ws://host/#');
    assert.deepEqual(parseWebSocketUrl('ws://host/#', { refuseEmptyFragment: true }), { ok: false, problem: 'fragment' });
    assert.equal(parseWebSocketUrl('ws://host/', { refuseEmptyFragment: true }).ok, true);
  });
});

describe('webSocketUrl (the Node client, ws wording)', () => {
  it('returns the URL, http(s) mapped', () => {
    assert.equal(webSocketUrl('http://example.com/x').href, 'ws://example.com/x');
    assert.equal(webSocketUrl('/y', new URL('wss://example.com/x')).href, 'wss://example.com/y');
  });

  it('throws SyntaxError with ws messages', () => {
    assert.throws(() => webSocketUrl('not a url'), { name: 'SyntaxError', message: 'Invalid URL: not a url' });
    assert.throws(() => webSocketUrl('ftp://host/'), {
      name: 'SyntaxError',
      message: `The URL's protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"`,
    });
    assert.throws(() => webSocketUrl('ws://host/#frag'), { name: 'SyntaxError', message: 'The URL contains a fragment identifier' });
    assert.throws(() => webSocketUrl('x'), SyntaxError);
  });
});

describe('pathnameOf', () => {
  it('cuts the query off a request-target', () => {
    assert.equal(pathnameOf('/'), '/');
    assert.equal(pathnameOf('/chat'), '/chat');
    assert.equal(pathnameOf('/chat?room=1'), '/chat');
    assert.equal(pathnameOf('/chat?'), '/chat');
    assert.equal(pathnameOf('/a?b?c'), '/a');
    assert.equal(pathnameOf('?q'), '');
    assert.equal(pathnameOf(''), '');
  });

  it('leaves everything else as sent (no decoding, no normalization)', () => {
    assert.equal(pathnameOf('/a%20b/../c#x'), '/a%20b/../c#x');
  });
});
