// The strict, bounded HTTP/1.1 request-head parser of the upgrade server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findHeadEnd, isPlausibleRequestStart, parseRequestHead } from '../../src/handshake/request-head.js';

const LIMITS = { maxHeadBytes: 16 * 1024, maxFields: 100 };

function parse(text: string, limits = LIMITS) {
  const buffer = Buffer.from(text, 'latin1');
  const end = findHeadEnd(buffer);
  assert.notEqual(end, -1, 'a complete head');
  return parseRequestHead(buffer, end, limits);
}

const HANDSHAKE =
  'GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe('findHeadEnd', () => {
  it('finds the empty line, also when resuming over a buffer that grew across it', () => {
    const buffer = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\nFRAME');
    assert.equal(findHeadEnd(buffer), buffer.length - 5);
    assert.equal(findHeadEnd(buffer, 26), buffer.length - 5, 'resumed 2 bytes before the end of the head');
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n')), -1);
  });
});

describe('isPlausibleRequestStart', () => {
  it('a method so far, or a method and a space: plausible; a TLS ClientHello or a long run without a space: not', () => {
    assert.equal(isPlausibleRequestStart(Buffer.from('GE')), true);
    assert.equal(isPlausibleRequestStart(Buffer.from('GET /')), true);
    assert.equal(isPlausibleRequestStart(Buffer.from([0x16, 0x03, 0x01, 0x02])), false, 'TLS handshake record');
    assert.equal(isPlausibleRequestStart(Buffer.from(' GET')), false, 'no method');
    assert.equal(isPlausibleRequestStart(Buffer.from('A'.repeat(33))), false);
    assert.equal(isPlausibleRequestStart(Buffer.from('A'.repeat(32))), true);
  });
});

describe('parseRequestHead', () => {
  it('an upgrade request: method, target, version, lowercase headers, raw headers, where the head ends', () => {
    const text = `${HANDSHAKE}\x81\x80`;
    const r = parse(text);
    assert.ok(r.ok);
    assert.equal(r.head.method, 'GET');
    assert.equal(r.head.url, '/chat?room=1');
    assert.equal(r.head.versionMinor, 1);
    assert.deepEqual({ ...r.head.headers }, {
      host: 'example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    });
    assert.deepEqual(r.head.rawHeaders.slice(0, 4), ['Host', 'example.com', 'Upgrade', 'websocket']);
    assert.equal(r.head.headEnd, text.length - 2);
  });

  it('repeated fields combine as node:http does: lists joined, singletons kept once, set-cookie a list', () => {
    const r = parse('GET / HTTP/1.1\r\nSec-WebSocket-Protocol: a\r\nsec-websocket-protocol: b\r\nHost: one\r\nHost: two\r\n' +
      'Cookie: x=1\r\nCookie: y=2\r\nSet-Cookie: s=1\r\nSet-Cookie: t=2\r\n\r\n');
    assert.ok(r.ok);
    assert.equal(r.head.headers['sec-websocket-protocol'], 'a, b');
    assert.equal(r.head.headers['host'], 'one');
    assert.equal(r.head.headers['cookie'], 'x=1; y=2');
    assert.deepEqual(r.head.headers['set-cookie'], ['s=1', 't=2']);
  });

  it('optional whitespace around values is trimmed; HTTP/1.0 is read as such', () => {
    const r = parse('GET / HTTP/1.0\r\nUpgrade: \t websocket \t\r\n\r\n');
    assert.ok(r.ok);
    assert.equal(r.head.versionMinor, 0);
    assert.equal(r.head.headers['upgrade'], 'websocket');
  });

  it('a header named __proto__ is an ordinary field', () => {
    const r = parse('GET / HTTP/1.1\r\n__proto__: x\r\n\r\n');
    assert.ok(r.ok);
    assert.equal(r.head.headers['__proto__'], 'x');
  });

  for (const [name, text, status, reason] of [
    ['bare LF inside the head', 'GET / HTTP/1.1\nHost: x\r\n\r\n', 400, 'Malformed request line'],
    ['two spaces in the request line', 'GET  / HTTP/1.1\r\n\r\n', 400, 'Malformed request line'],
    ['a method that is no token', 'G(T / HTTP/1.1\r\n\r\n', 400, 'Malformed request method'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', 505, 'HTTP version not supported: HTTP/2.0'],
    ['garbage version', 'GET / HTTX/1.1\r\n\r\n', 400, 'Malformed HTTP version'],
    ['obs-fold', 'GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n', 400, 'Folded header lines are not accepted'],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400, 'Malformed header name "Host "'],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost\r\n\r\n', 400, 'Malformed header line'],
    ['a control character in a value', 'GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n', 400, 'Invalid character in the X-A header'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n', 400, 'Invalid character in the X-A header'],
  ] as const) {
    it(`refuses ${name}: ${status}`, () => {
      assert.deepEqual(parse(text), { ok: false, status, reason });
    });
  }

  it('limits: the head size and the number of fields (431)', () => {
    const many = `GET / HTTP/1.1\r\n${'X-A: b\r\n'.repeat(101)}\r\n`;
    assert.deepEqual(parse(many), { ok: false, status: 431, reason: 'More than 100 header fields' });
    const big = `GET / HTTP/1.1\r\nX-A: ${'b'.repeat(200)}\r\n\r\n`;
    assert.deepEqual(parse(big, { maxHeadBytes: 100, maxFields: 100 }), { ok: false, status: 431, reason: 'Request head larger than 100 bytes' });
  });
});
