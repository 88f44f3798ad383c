import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_EXTENSION_OFFERS,
  MAX_EXTENSION_PARAMS,
  MAX_SUBPROTOCOLS,
  buildAcceptHeaderLines,
  buildAcceptResponse,
  buildRejectResponse,
  isOriginAllowed,
  selectSubprotocol,
  serializeHeaderLines,
  validateUpgradeRequest,
  type UpgradeRequestLike,
} from '../../src/handshake/server-handshake.js';
import { measureWork } from '../support/work-meter.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** The RFC 1.3 example request, with `headers` overriding (undefined removes a header). */
function request(
  headers: Record<string, string | string[] | number | undefined> = {},
  line: { method?: string; httpVersion?: string } = {},
): UpgradeRequestLike {
  const base: Record<string, string | string[] | number | undefined> = {
    host: 'server.example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...headers,
  };
  return { method: 'GET', httpVersion: '1.1', url: '/chat', ...line, headers: base };
}

describe('validateUpgradeRequest: accepted', () => {
  it('accepts the RFC 1.3 example and returns its fields', () => {
    const result = validateUpgradeRequest(
      request({
        origin: 'http://example.com',
        'sec-websocket-protocol': 'chat, superchat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      }),
    );
    assert.deepEqual(result, {
      ok: true,
      key: KEY,
      version: 13,
      protocols: ['chat', 'superchat'],
      extensions: [{ name: 'permessage-deflate', params: [{ name: 'client_max_window_bits', value: null }] }],
      origin: 'http://example.com',
    });
  });

  it('accepts a minimal request with no protocols, extensions or origin', () => {
    assert.deepEqual(validateUpgradeRequest(request()), {
      ok: true,
      key: KEY,
      version: 13,
      protocols: [],
      extensions: [],
      origin: undefined,
    });
  });

  it('accepts Connection: keep-alive, Upgrade (Firefox)', () => {
    assert.equal(validateUpgradeRequest(request({ connection: 'keep-alive, Upgrade' })).ok, true);
  });

  it('accepts mixed-case tokens', () => {
    assert.equal(validateUpgradeRequest(request({ connection: 'UpGrAdE', upgrade: 'WebSocket' })).ok, true);
  });

  it('accepts HTTP versions above 1.1', () => {
    assert.equal(validateUpgradeRequest(request({}, { httpVersion: '2.0' })).ok, true);
    assert.equal(validateUpgradeRequest(request({}, { httpVersion: '1.2' })).ok, true);
  });

  it('joins several Sec-WebSocket-Extensions instances', () => {
    const result = validateUpgradeRequest(request({ 'sec-websocket-extensions': ['foo', 'bar; baz=2'] }));
    assert.equal(result.ok, true);
    assert.deepEqual(result.ok && result.extensions, [
      { name: 'foo', params: [] },
      { name: 'bar', params: [{ name: 'baz', value: '2' }] },
    ]);
  });
});

describe('validateUpgradeRequest: header values given as numbers (in-process requests)', () => {
  it('reads Sec-WebSocket-Version 13 and 8 given as numbers, as ws does', () => {
    const r13 = validateUpgradeRequest(request({ 'sec-websocket-version': 13 }));
    assert.equal(r13.ok && r13.version, 13);
    const r8 = validateUpgradeRequest(request({ 'sec-websocket-version': 8 }));
    assert.equal(r8.ok && r8.version, 8);
  });

  it('refuses another version given as a number with 426, as the same text would be', () => {
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-version': 7 })), validateUpgradeRequest(request({ 'sec-websocket-version': '7' })));
    assert.equal((validateUpgradeRequest(request({ 'sec-websocket-version': 7 })) as { status: number }).status, 426);
  });

  it('reads a number anywhere a header is read (Host, key, lists) as its decimal text', () => {
    const r = validateUpgradeRequest(request({ host: 8080, 'sec-websocket-protocol': 42 }));
    assert.ok(r.ok);
    assert.deepEqual(r.protocols, ['42']);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-key': 1234 })), {
      ok: false,
      status: 400,
      reason: 'Missing or invalid Sec-WebSocket-Key header',
    });
  });
});

describe('validateUpgradeRequest: refused', () => {
  it('refuses a non-GET method with 405 and Allow: GET', () => {
    assert.deepEqual(validateUpgradeRequest(request({}, { method: 'POST' })), {
      ok: false,
      status: 405,
      reason: 'Method Not Allowed: a WebSocket handshake must use GET',
      headers: { Allow: 'GET' },
    });
    assert.equal(validateUpgradeRequest(request({}, { method: 'get' })).ok, false);
  });

  it('refuses HTTP/1.0 and unparseable versions with 400', () => {
    const expected = {
      ok: false,
      status: 400,
      reason: 'Unsupported HTTP version: a WebSocket handshake requires HTTP/1.1 or later',
    };
    assert.deepEqual(validateUpgradeRequest(request({}, { httpVersion: '1.0' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({}, { httpVersion: '0.9' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({}, { httpVersion: 'x' })), expected);
    assert.deepEqual(validateUpgradeRequest({ method: 'GET', headers: request().headers }), expected);
  });

  it('refuses a missing Host with 400', () => {
    const expected = { ok: false, status: 400, reason: 'Missing Host header' };
    assert.deepEqual(validateUpgradeRequest(request({ host: undefined })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ host: '' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ host: undefined }), { requireHost: true }), expected);
  });

  it('accepts a missing Host when told the request did not come from the network (requireHost: false)', () => {
    const r = validateUpgradeRequest(request({ host: undefined }), { requireHost: false });
    assert.equal(r.ok, true);
    // Everything else is still checked.
    assert.deepEqual(validateUpgradeRequest(request({ host: undefined, upgrade: undefined }), { requireHost: false }), {
      ok: false,
      status: 400,
      reason: 'Missing or invalid Upgrade header',
    });
  });

  it('refuses a missing or wrong Upgrade with 400', () => {
    const expected = { ok: false, status: 400, reason: 'Missing or invalid Upgrade header' };
    assert.deepEqual(validateUpgradeRequest(request({ upgrade: undefined })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ upgrade: 'h2c' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ upgrade: 'websockets' })), expected);
  });

  it('refuses a Connection without the upgrade token with 400', () => {
    const expected = { ok: false, status: 400, reason: 'Missing or invalid Connection header' };
    assert.deepEqual(validateUpgradeRequest(request({ connection: undefined })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ connection: 'keep-alive' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ connection: 'keep-alive upgrade' })), expected);
  });

  it('refuses a missing, malformed or repeated key with 400', () => {
    const expected = { ok: false, status: 400, reason: 'Missing or invalid Sec-WebSocket-Key header' };
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-key': undefined })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-key': 'AQIDBAUGBwgJCgsMDQ4PEC==' })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-key': `${KEY}, ${KEY}` })), expected);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-key': [KEY, KEY] })), expected);
  });

  it('refuses other versions with 426, listing 13 and 8 (RFC 4.2.2, 4.4)', () => {
    const expected = {
      ok: false,
      status: 426,
      reason: 'Unsupported WebSocket version: versions 13 and 8 are supported',
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    };
    for (const version of ['7', '14', '13, 8', '013', '08']) {
      assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-version': version })), expected, version);
    }
  });

  it('accepts version 8 (hybi-08 frames as 13), whose Origin comes as Sec-WebSocket-Origin', () => {
    const r = validateUpgradeRequest(request({ 'sec-websocket-version': '8', 'sec-websocket-origin': 'https://a.example', origin: 'https://ignored.example' }));
    assert.ok(r.ok);
    assert.equal(r.version, 8);
    assert.equal(r.origin, 'https://a.example');
    const r13 = validateUpgradeRequest(request({ 'sec-websocket-origin': 'https://ignored.example', origin: 'https://b.example' }));
    assert.ok(r13.ok);
    assert.equal(r13.origin, 'https://b.example');
  });

  it('refuses a missing version with 400, still advertising 13 and 8', () => {
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-version': undefined })), {
      ok: false,
      status: 400,
      reason: 'Missing Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    });
  });

  it('refuses a malformed Sec-WebSocket-Protocol with 400', () => {
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-protocol': 'chat, super chat' })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: Unexpected character "c" at index 12 in token list',
    });
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-protocol': ' , ' })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: the list is empty',
    });
  });

  it('refuses duplicated subprotocols with 400', () => {
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-protocol': 'chat, v2, chat' })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: subprotocol "chat" is listed twice',
    });
  });

  it('refuses malformed or empty Sec-WebSocket-Extensions with 400', () => {
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-extensions': 'permessage-deflate;' })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Extensions header: Unexpected end of input at index 19: expected parameter name',
    });
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-extensions': '' })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Extensions header: the list is empty',
    });
  });

  it('checks in RFC order: the method is reported before a bad key', () => {
    const result = validateUpgradeRequest(request({ 'sec-websocket-key': 'bad' }, { method: 'PUT' }));
    assert.equal(result.ok === false && result.status, 405);
  });
});

describe('validateUpgradeRequest: caps on list headers', () => {
  it('documents its caps: 64 subprotocols, 16 extension offers, 16 parameters per offer', () => {
    assert.deepEqual([MAX_SUBPROTOCOLS, MAX_EXTENSION_OFFERS, MAX_EXTENSION_PARAMS], [64, 16, 16]);
  });

  it('accepts 64 subprotocols and refuses 65 with 400', () => {
    const list = (n: number): string => Array.from({ length: n }, (_, i) => `proto${i}`).join(', ');
    const at = validateUpgradeRequest(request({ 'sec-websocket-protocol': list(64) }));
    assert.equal(at.ok && at.protocols.length, 64);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-protocol': list(65) })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: more than 64 subprotocols',
    });
  });

  it('counts subprotocols across repeated header instances, and not empty elements', () => {
    const half = (from: number): string => Array.from({ length: 32 }, (_, i) => `p${from + i}`).join(',');
    const at = validateUpgradeRequest(request({ 'sec-websocket-protocol': [half(0), `,,${half(32)},,`] }));
    assert.equal(at.ok && at.protocols.length, 64);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-protocol': [half(0), half(32), 'one-more'] })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: more than 64 subprotocols',
    });
  });

  it('still finds a duplicate at the end of a full list', () => {
    const list = [...Array.from({ length: 63 }, (_, i) => `proto${i}`), 'proto0'].join(', ');
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-protocol': list })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: subprotocol "proto0" is listed twice',
    });
  });

  it('accepts 16 extension offers and refuses 17 with 400', () => {
    const offers = (n: number): string => Array.from({ length: n }, (_, i) => `x-ext${i}; a=1`).join(', ');
    const at = validateUpgradeRequest(request({ 'sec-websocket-extensions': offers(16) }));
    assert.equal(at.ok && at.extensions.length, 16);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-extensions': offers(17) })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Extensions header: more than 16 extension offers',
    });
  });

  it('accepts 16 parameters in an offer and refuses 17 with 400', () => {
    const offer = (n: number): string => ['permessage-deflate', ...Array.from({ length: n }, (_, i) => `p${i}="${i}"`)].join('; ');
    const at = validateUpgradeRequest(request({ 'sec-websocket-extensions': `${offer(16)}, ${offer(16)}` }));
    assert.deepEqual(at.ok && at.extensions.map((e) => e.params.length), [16, 16]);
    assert.deepEqual(validateUpgradeRequest(request({ 'sec-websocket-extensions': `x-ok, ${offer(17)}` })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Extensions header: more than 16 parameters in extension "permessage-deflate"',
    });
  });
});

// The cost of a handshake check, counted rather than timed (test/support/
// work-meter.ts): for each hostile request below, of a size Node accepts
// (its header block is capped at 16 KiB), the builtins' scans plus the
// characters read stay within a small constant times the bytes of header
// values, and no regular expression runs on more than a key's length of
// input. A quadratic check (a linear search per element, a backtracking
// trim) counts in the millions here.
describe('validateUpgradeRequest: work is linear in the header bytes', () => {
  const WORK_PER_BYTE = 8;
  const REGEX_INPUT_MAX = 32;
  // 4,000 distinct two-character tokens: 12 KB, the size of the reported attack.
  const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const tokens = Array.from({ length: 4000 }, (_, i) => TCHARS[Math.floor(i / TCHARS.length)]! + TCHARS[i % TCHARS.length]!);
  const spaces = ' '.repeat(12_000);
  const long = (i: number): string => `${'p'.repeat(180)}${i}`;
  const cases: Array<[string, Record<string, string | string[]>, number]> = [
    ['4,000 subprotocols', { 'sec-websocket-protocol': tokens.join(',') }, 400],
    ['64 long subprotocols', { 'sec-websocket-protocol': Array.from({ length: 64 }, (_, i) => long(i)).join(', ') }, 101],
    ['64 long subprotocols, the last a duplicate', { 'sec-websocket-protocol': [...Array.from({ length: 63 }, (_, i) => long(i)), long(0)].join(', ') }, 400],
    ['12 KB of empty list elements', { 'sec-websocket-protocol': ','.repeat(12_000) }, 400],
    ['4,000 extension offers', { 'sec-websocket-extensions': tokens.join(',') }, 400],
    ['4,000 parameters in one offer', { 'sec-websocket-extensions': `x; ${tokens.join('; ')}` }, 400],
    ['16 offers of 16 quoted parameters', { 'sec-websocket-extensions': Array.from({ length: 16 }, () => ['x', ...Array.from({ length: 16 }, (_, i) => `p${i}="${'v'.repeat(40)}"`)].join('; ')).join(', ') }, 101],
    ['a quoted value of 6,000 quoted-pairs', { 'sec-websocket-extensions': `x; p="${'\\v'.repeat(6000)}"` }, 101],
    ['Upgrade with 12,000 inner spaces', { upgrade: `a${spaces}b, websocket` }, 101],
    ['Upgrade with 12,000 inner spaces and no websocket', { upgrade: `a${spaces}b` }, 400],
    ['Connection with 12,000 inner spaces', { connection: `a${spaces}b` }, 400],
    ['a 12 KB key', { 'sec-websocket-key': 'A'.repeat(12_000) }, 400],
    ['a 12 KB version', { 'sec-websocket-version': '1'.repeat(12_000) }, 426],
  ];
  for (const [name, headers, status] of cases) {
    it(`${name} -> ${status}, linear work`, () => {
      const req = request(headers);
      const bytes = Object.values(req.headers).reduce((n: number, v) => n + (v === undefined ? 0 : [v].flat().join(',').length), 0);
      const { result, work } = measureWork(() => validateUpgradeRequest(req));
      assert.ok(
        work.scanned + work.charReads <= WORK_PER_BYTE * bytes,
        `${work.scanned} scanned + ${work.charReads} characters read for ${bytes} bytes of header values`,
      );
      assert.ok(work.regexInputs.every((n) => n <= REGEX_INPUT_MAX), `regex inputs of ${Math.max(...work.regexInputs)} characters`);
      assert.equal(result.ok ? 101 : result.status, status);
    });
  }
});

describe('selectSubprotocol', () => {
  it('returns the chosen protocol when it was offered', () => {
    assert.equal(selectSubprotocol(['chat', 'superchat'], 'superchat'), 'superchat');
  });

  it('returns undefined when the handler chose none', () => {
    assert.equal(selectSubprotocol(['chat'], false), undefined);
    assert.equal(selectSubprotocol(['chat'], undefined), undefined);
    assert.equal(selectSubprotocol([], undefined), undefined);
  });

  it('throws when the handler chose a protocol the client did not offer', () => {
    assert.throws(() => selectSubprotocol(['chat'], 'Chat'), {
      name: 'Error',
      message: 'Selected subprotocol "Chat" was not offered by the client',
    });
    assert.throws(() => selectSubprotocol([], ''), { message: 'Selected subprotocol "" was not offered by the client' });
  });
});

describe('buildAcceptResponse', () => {
  it('writes the RFC 1.3 response exactly', () => {
    assert.equal(
      buildAcceptResponse({ key: KEY }),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        '\r\n',
    );
  });

  it('adds protocol, extensions and extra headers in that order', () => {
    assert.equal(
      buildAcceptResponse({
        key: KEY,
        protocol: 'chat',
        extensions: 'permessage-deflate; server_max_window_bits=10',
        headers: [['Set-Cookie', 'sid=1; HttpOnly']],
      }),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        'Sec-WebSocket-Protocol: chat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n' +
        'Set-Cookie: sid=1; HttpOnly\r\n' +
        '\r\n',
    );
  });

  it('accepts raw "Name: value" lines and omits an empty extensions value', () => {
    assert.equal(
      buildAcceptResponse({ key: KEY, extensions: '', headers: ['X-Server: hyperws'] }),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        'X-Server: hyperws\r\n' +
        '\r\n',
    );
  });

  it('rejects CR/LF injection and invalid names', () => {
    assert.throws(() => buildAcceptResponse({ key: KEY, headers: [['X-A', 'a\r\nSet-Cookie: evil=1']] }), {
      name: 'TypeError',
      message: 'Invalid value for header "X-A": it contains CR, LF or NUL',
    });
    assert.throws(() => buildAcceptResponse({ key: KEY, headers: ['X-A: a\nX-B: b'] }), {
      name: 'TypeError',
      message: 'Invalid value for header "X-A": it contains CR, LF or NUL',
    });
    assert.throws(() => buildAcceptResponse({ key: KEY, headers: [['X A', 'b']] }), {
      name: 'TypeError',
      message: 'Invalid header name "X A"',
    });
    assert.throws(() => buildAcceptResponse({ key: KEY, headers: ['no colon'] }), {
      name: 'TypeError',
      message: 'Invalid header line "no colon": expected "Name: value"',
    });
    assert.throws(() => buildAcceptResponse({ key: KEY, extensions: 'a\r\n' }), {
      name: 'TypeError',
      message: 'Invalid value for header "Sec-WebSocket-Extensions": it contains CR, LF or NUL',
    });
    assert.throws(() => buildAcceptResponse({ key: KEY, protocol: 'a b' }), {
      name: 'TypeError',
      message: 'Invalid subprotocol "a b": it must be a token',
    });
  });
});

describe('buildAcceptHeaderLines / serializeHeaderLines', () => {
  it('returns the lines without CRLF, status line first', () => {
    assert.deepEqual(buildAcceptHeaderLines({ key: KEY, protocol: 'chat' }), [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${ACCEPT}`,
      'Sec-WebSocket-Protocol: chat',
    ]);
  });

  it('joins lines pushed by a listener, ending with the empty line', () => {
    const lines = buildAcceptHeaderLines({ key: KEY });
    lines.push('X-Pushed: 1');
    assert.equal(
      serializeHeaderLines(lines),
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nX-Pushed: 1\r\n\r\n`,
    );
  });

  it('refuses a pushed line containing CR or LF', () => {
    assert.throws(() => serializeHeaderLines(['HTTP/1.1 101 Switching Protocols', 'X: a\r\n\r\nbody']), {
      name: 'TypeError',
      message: 'Invalid header line "X: a\\r\\n\\r\\nbody": it contains CR, LF or NUL',
    });
  });
});

describe('buildRejectResponse', () => {
  it('writes a 426 with the version header exactly', () => {
    assert.equal(
      buildRejectResponse(426, 'Unsupported WebSocket version: only version 13 is supported', {
        'Sec-WebSocket-Version': '13',
      }),
      'HTTP/1.1 426 Upgrade Required\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 59\r\n' +
        'Sec-WebSocket-Version: 13\r\n' +
        '\r\n' +
        'Unsupported WebSocket version: only version 13 is supported',
    );
  });

  it('uses the UTF-8 byte length, not the string length', () => {
    assert.equal(
      buildRejectResponse(403, 'Forbidden origin: é€😀'),
      'HTTP/1.1 403 Forbidden\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 27\r\n' +
        '\r\n' +
        'Forbidden origin: é€😀',
    );
  });

  it("takes reason phrases from node:http (as ws), 'Unknown' for a status without one, and writes an empty body", () => {
    assert.equal(
      buildRejectResponse(418, ''),
      "HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n",
    );
    assert.equal(buildRejectResponse(299, '').split('\r\n')[0], 'HTTP/1.1 299 Unknown');
  });

  it('lets the caller set Content-Type (verifyClient answering JSON, as ws allows); lists become one line per value; numbers are written', () => {
    assert.equal(
      buildRejectResponse(401, '{}', { 'content-type': 'application/json', 'Set-Cookie': ['a=1', 'b=2'], 'Retry-After': 30, 'X-None': undefined }),
      'HTTP/1.1 401 Unauthorized\r\n' +
        'Connection: close\r\n' +
        'Content-Type: application/json\r\n' +
        'Content-Length: 2\r\n' +
        'Set-Cookie: a=1\r\n' +
        'Set-Cookie: b=2\r\n' +
        'Retry-After: 30\r\n' +
        '\r\n' +
        '{}',
    );
  });

  it('has standard reason phrases for the common refusals', () => {
    const phrase = (status: number): string => buildRejectResponse(status, '').split('\r\n')[0] ?? '';
    assert.equal(phrase(400), 'HTTP/1.1 400 Bad Request');
    assert.equal(phrase(401), 'HTTP/1.1 401 Unauthorized');
    assert.equal(phrase(404), 'HTTP/1.1 404 Not Found');
    assert.equal(phrase(405), 'HTTP/1.1 405 Method Not Allowed');
    assert.equal(phrase(408), 'HTTP/1.1 408 Request Timeout');
    assert.equal(phrase(413), 'HTTP/1.1 413 Payload Too Large');
    assert.equal(phrase(429), 'HTTP/1.1 429 Too Many Requests');
    assert.equal(phrase(431), 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.equal(phrase(500), 'HTTP/1.1 500 Internal Server Error');
    assert.equal(phrase(503), 'HTTP/1.1 503 Service Unavailable');
  });

  it('strips CR/LF from header values and drops framing or invalid header names', () => {
    assert.equal(
      buildRejectResponse(401, 'x', {
        'WWW-Authenticate': 'Basic\r\nSet-Cookie: evil=1',
        'content-length': '999',
        Connection: 'keep-alive',
        'Content-Type': 'text/html\r\nX-Evil: 1',
        'Bad Name': 'v',
      }),
      'HTTP/1.1 401 Unauthorized\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/htmlX-Evil: 1\r\n' +
        'Content-Length: 1\r\n' +
        'WWW-Authenticate: BasicSet-Cookie: evil=1\r\n' +
        '\r\n' +
        'x',
    );
  });

  it('refuses an invalid status code', () => {
    assert.throws(() => buildRejectResponse(99, 'x'), { name: 'RangeError', message: 'Invalid HTTP status code: 99' });
    assert.throws(() => buildRejectResponse(400.5, 'x'), { name: 'RangeError' });
  });

  it('turns a validateUpgradeRequest refusal into a response', () => {
    const r = validateUpgradeRequest(request({ 'sec-websocket-key': undefined }));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(
      buildRejectResponse(r.status, r.reason, r.headers),
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 43\r\n\r\nMissing or invalid Sec-WebSocket-Key header',
    );
  });
});

describe('isOriginAllowed', () => {
  const allowed = ['https://example.com', 'http://localhost:8080'];

  it('allows an exact match, ignoring case', () => {
    assert.equal(isOriginAllowed('https://example.com', allowed), true);
    assert.equal(isOriginAllowed('HTTPS://Example.COM', allowed), true);
    assert.equal(isOriginAllowed('http://localhost:8080', allowed), true);
  });

  it('refuses other schemes, hosts, ports and prefixes', () => {
    assert.equal(isOriginAllowed('http://example.com', allowed), false);
    assert.equal(isOriginAllowed('https://example.com.evil.net', allowed), false);
    assert.equal(isOriginAllowed('https://sub.example.com', allowed), false);
    assert.equal(isOriginAllowed('http://localhost:8081', allowed), false);
    assert.equal(isOriginAllowed('http://localhost', allowed), false);
    assert.equal(isOriginAllowed('null', allowed), false);
    assert.equal(isOriginAllowed('https://example.com', []), false);
  });

  it('allows everything with "*"', () => {
    assert.equal(isOriginAllowed('https://anything.test', ['*']), true);
    assert.equal(isOriginAllowed('null', ['https://example.com', '*']), true);
  });

  it('allows a request without Origin (not a browser)', () => {
    assert.equal(isOriginAllowed(undefined, allowed), true);
    assert.equal(isOriginAllowed(undefined, []), true);
  });
});
