import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildExtendedConnectHeaderLines,
  buildExtendedConnectRejection,
  http2ResponseHeaders,
  isExtendedConnect,
  validateExtendedConnect,
  type Http2Headers,
} from '../../src/handshake/extended-connect.js';

/** RFC 8441 5.1's example request, with `headers` overriding (undefined removes a field). */
function request(headers: Http2Headers = {}): Http2Headers {
  const all: Http2Headers = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': '/chat',
    ':authority': 'server.example.com',
    'sec-websocket-protocol': 'chat, superchat',
    'sec-websocket-extensions': 'permessage-deflate',
    'sec-websocket-version': '13',
    origin: 'http://www.example.com',
    ...headers,
  };
  for (const key of Object.keys(all)) if (all[key] === undefined) delete all[key];
  return all;
}

describe('isExtendedConnect', () => {
  it('is true for CONNECT with :protocol, false for a plain CONNECT and for other methods', () => {
    assert.equal(isExtendedConnect(request()), true);
    assert.equal(isExtendedConnect(request({ ':protocol': 'webtransport' })), true);
    assert.equal(isExtendedConnect({ ':method': 'CONNECT', ':authority': 'example.com:443' }), false);
    assert.equal(isExtendedConnect({ ':method': 'GET', ':protocol': 'websocket', ':path': '/' }), false);
  });
});

describe('validateExtendedConnect', () => {
  it('accepts RFC 8441 5.1 and returns its fields', () => {
    assert.deepEqual(validateExtendedConnect(request()), {
      ok: true,
      path: '/chat',
      authority: 'server.example.com',
      scheme: 'https',
      protocols: ['chat', 'superchat'],
      extensions: [{ name: 'permessage-deflate', params: [] }],
      origin: 'http://www.example.com',
    });
  });

  it('accepts a minimal request over cleartext (no subprotocol, extension or origin)', () => {
    const r = validateExtendedConnect(
      request({ ':scheme': 'http', 'sec-websocket-protocol': undefined, 'sec-websocket-extensions': undefined, origin: undefined }),
    );
    assert.deepEqual(r, { ok: true, path: '/chat', authority: 'server.example.com', scheme: 'http', protocols: [], extensions: [], origin: undefined });
  });

  const refusals: Array<[string, Http2Headers, number, string, Record<string, string>?]> = [
    ['GET', { ':method': 'GET' }, 405, 'Method Not Allowed: a WebSocket over HTTP/2 opens with an Extended CONNECT', { allow: 'CONNECT' }],
    ['another :protocol', { ':protocol': 'webtransport' }, 501, 'Not Implemented: the :protocol "webtransport" is not supported (only "websocket")'],
    ['no :scheme', { ':scheme': undefined }, 400, 'Missing or invalid :scheme pseudo-header: it must be "http" or "https"'],
    ['a :scheme of wss', { ':scheme': 'wss' }, 400, 'Missing or invalid :scheme pseudo-header: it must be "http" or "https"'],
    ['no :path', { ':path': undefined }, 400, 'Missing or invalid :path pseudo-header'],
    ['an empty :path', { ':path': '' }, 400, 'Missing or invalid :path pseudo-header'],
    ['a :path not starting with /', { ':path': 'chat' }, 400, 'Missing or invalid :path pseudo-header'],
    ['no :authority', { ':authority': undefined }, 400, 'Missing :authority pseudo-header'],
    ['Connection', { connection: 'Upgrade' }, 400, 'Connection-specific header field "connection" is not allowed over HTTP/2'],
    ['Upgrade', { upgrade: 'websocket' }, 400, 'Connection-specific header field "upgrade" is not allowed over HTTP/2'],
    ['no version', { 'sec-websocket-version': undefined }, 400, 'Missing Sec-WebSocket-Version header', { 'sec-websocket-version': '13' }],
    ['version 8', { 'sec-websocket-version': '8' }, 426, 'Unsupported WebSocket version: version 13 is supported', { 'sec-websocket-version': '13' }],
    ['a repeated subprotocol', { 'sec-websocket-protocol': 'chat, chat' }, 400, 'Invalid Sec-WebSocket-Protocol header: subprotocol "chat" is listed twice'],
    ['an empty extension list', { 'sec-websocket-extensions': ' , ' }, 400, 'Invalid Sec-WebSocket-Extensions header: the list is empty'],
  ];
  for (const [what, headers, status, reason, extra] of refusals) {
    it(`refuses ${what}: ${status}`, () => {
      const expected = extra === undefined ? { ok: false, status, reason } : { ok: false, status, reason, headers: extra };
      assert.deepEqual(validateExtendedConnect(request(headers)), expected);
    });
  }

  it('caps subprotocols as over HTTP/1.1 (shared code): 65 offers -> 400', () => {
    const many = Array.from({ length: 65 }, (_, i) => `p${i}`).join(', ');
    assert.deepEqual(validateExtendedConnect(request({ 'sec-websocket-protocol': many })), {
      ok: false,
      status: 400,
      reason: 'Invalid Sec-WebSocket-Protocol header: more than 64 subprotocols',
    });
  });
});

describe('the acceptance', () => {
  it('is :status 200 with the subprotocol and extensions, and no Sec-WebSocket-Accept (RFC 8441 5)', () => {
    const lines = buildExtendedConnectHeaderLines({ protocol: 'chat', extensions: 'permessage-deflate; server_no_context_takeover' });
    assert.deepEqual(lines, ['HTTP/2 200', 'sec-websocket-protocol: chat', 'sec-websocket-extensions: permessage-deflate; server_no_context_takeover']);
    assert.deepEqual(http2ResponseHeaders(lines), {
      ':status': 200,
      'sec-websocket-protocol': 'chat',
      'sec-websocket-extensions': 'permessage-deflate; server_no_context_takeover',
    });
    assert.deepEqual(http2ResponseHeaders(buildExtendedConnectHeaderLines({})), { ':status': 200 });
  });

  it('takes lines a listener pushed: names lowercased, repeated names kept as a list', () => {
    const lines = [...buildExtendedConnectHeaderLines({}), 'Set-Cookie: a=1', 'set-cookie: b=2', 'X-Id:  7 '];
    assert.deepEqual(http2ResponseHeaders(lines), { ':status': 200, 'set-cookie': ['a=1', 'b=2'], 'x-id': '7' });
  });

  it('throws TypeError for a malformed line, a CR/LF in a value, a connection-specific field or a bad status line', () => {
    assert.throws(() => http2ResponseHeaders(['HTTP/2 200', 'no colon']), TypeError);
    assert.throws(() => http2ResponseHeaders(['HTTP/2 200', 'X-A: 1\r\nX-B: 2']), TypeError);
    assert.throws(() => http2ResponseHeaders(['HTTP/2 200', 'Connection: keep-alive']), /connection-specific/);
    assert.throws(() => http2ResponseHeaders(['HTTP/1.1 101 Switching Protocols']), /HTTP\/2 <status>/);
    assert.throws(() => buildExtendedConnectHeaderLines({ protocol: 'a b' }), TypeError);
  });
});

describe('buildExtendedConnectRejection', () => {
  it('sends the reason as a plain-text body with its byte length', () => {
    const r = buildExtendedConnectRejection(403, 'Origin not allowed: é');
    assert.deepEqual(r.headers, { ':status': 403, 'content-type': 'text/plain; charset=utf-8', 'content-length': 22 });
    assert.equal(r.body.toString(), 'Origin not allowed: é');
  });

  it('keeps extra fields lowercased, drops reserved, connection-specific and invalid ones, strips CR/LF', () => {
    const r = buildExtendedConnectRejection(503, 'busy', {
      'Retry-After': '1',
      'Content-Length': '99',
      Connection: 'close',
      ':status': '200',
      'X-Echo': 'a\r\nb',
    });
    assert.deepEqual(r.headers, { ':status': 503, 'content-type': 'text/plain; charset=utf-8', 'content-length': 4, 'retry-after': '1', 'x-echo': 'ab' });
  });

  it('refuses a status outside 200..599', () => {
    assert.throws(() => buildExtendedConnectRejection(101, 'x'), RangeError);
  });
});
