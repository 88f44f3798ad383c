import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientRequestHeaders, validateUpgradeResponse } from '../../src/handshake/client-handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('buildClientRequestHeaders', () => {
  it('writes the minimal handshake headers', () => {
    assert.deepEqual(buildClientRequestHeaders({ key: KEY }), {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': KEY,
      'Sec-WebSocket-Version': '13',
    });
  });

  it('adds protocols, extensions and origin', () => {
    assert.deepEqual(
      buildClientRequestHeaders({
        key: KEY,
        protocols: ['chat', 'superchat'],
        extensions: 'permessage-deflate; client_max_window_bits',
        origin: 'http://example.com',
      }),
      {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': KEY,
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Protocol': 'chat, superchat',
        'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
        Origin: 'http://example.com',
      },
    );
  });

  it('omits empty protocols and extensions', () => {
    assert.deepEqual(Object.keys(buildClientRequestHeaders({ key: KEY, protocols: [], extensions: '' })), [
      'Connection',
      'Upgrade',
      'Sec-WebSocket-Key',
      'Sec-WebSocket-Version',
    ]);
  });

  it('merges user headers but never lets them replace handshake fields, whatever their case', () => {
    assert.deepEqual(
      buildClientRequestHeaders({
        key: KEY,
        origin: 'https://a.test',
        headers: {
          Authorization: 'Bearer t',
          connection: 'close',
          UPGRADE: 'h2c',
          'sec-websocket-key': 'x',
          'Sec-WebSocket-Version': '8',
          origin: 'https://b.test',
        },
      }),
      {
        Authorization: 'Bearer t',
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': KEY,
        'Sec-WebSocket-Version': '13',
        Origin: 'https://a.test',
      },
    );
  });

  it('version 8 (hybi-08): Sec-WebSocket-Version 8 and the origin as Sec-WebSocket-Origin, not Origin', () => {
    assert.deepEqual(buildClientRequestHeaders({ key: KEY, version: 8, origin: 'https://a.test', headers: { 'Sec-WebSocket-Origin': 'https://b.test' } }), {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': KEY,
      'Sec-WebSocket-Version': '8',
      'Sec-WebSocket-Origin': 'https://a.test',
    });
    assert.equal(buildClientRequestHeaders({ key: KEY, version: 13 })['Sec-WebSocket-Version'], '13');
  });

  it('keeps a user Origin when no origin option is given', () => {
    assert.equal(buildClientRequestHeaders({ key: KEY, headers: { Origin: 'https://b.test' } })['Origin'], 'https://b.test');
  });

  it('throws SyntaxError for an invalid or duplicated subprotocol', () => {
    for (const protocols of [['chat', 'chat'], ['a b'], [''], ['chat', 'x,y'], ['é']]) {
      assert.throws(() => buildClientRequestHeaders({ key: KEY, protocols }), {
        name: 'SyntaxError',
        message: 'An invalid or duplicated subprotocol was specified',
      }, JSON.stringify(protocols));
    }
  });
});

describe('validateUpgradeResponse', () => {
  const expect = { key: KEY, protocols: ['chat', 'superchat'], extensionsOffered: ['permessage-deflate'] };
  const response = (headers: Record<string, string | string[] | undefined> = {}, statusCode = 101) => ({
    statusCode,
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': ACCEPT, ...headers },
  });
  const failure = (reason: string) => ({ ok: false, reason });

  it('accepts the RFC 1.3 response', () => {
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-protocol': 'chat' }), expect), {
      ok: true,
      protocol: 'chat',
      extensions: [],
    });
  });

  it('accepts a server that picks no protocol, in any header case, with padded accept', () => {
    assert.deepEqual(
      validateUpgradeResponse(
        response({ upgrade: 'WebSocket', connection: 'keep-alive, upgrade', 'sec-websocket-accept': ` ${ACCEPT} ` }),
        expect,
      ),
      { ok: true, protocol: '', extensions: [] },
    );
  });

  it('returns the accepted extensions', () => {
    assert.deepEqual(
      validateUpgradeResponse(response({ 'sec-websocket-extensions': 'permessage-deflate; server_max_window_bits="10"' }), expect),
      {
        ok: true,
        protocol: '',
        extensions: [{ name: 'permessage-deflate', params: [{ name: 'server_max_window_bits', value: '10' }] }],
      },
    );
  });

  it('fails on a status other than 101', () => {
    assert.deepEqual(validateUpgradeResponse(response({}, 200), expect), failure('Unexpected server response: 200'));
    assert.deepEqual(validateUpgradeResponse(response({}, 401), expect), failure('Unexpected server response: 401'));
    assert.deepEqual(
      validateUpgradeResponse({ headers: response().headers }, expect),
      failure('Unexpected server response: none'),
    );
  });

  it('fails on a missing or wrong Upgrade', () => {
    assert.deepEqual(validateUpgradeResponse(response({ upgrade: undefined }), expect), failure('Invalid Upgrade header'));
    assert.deepEqual(validateUpgradeResponse(response({ upgrade: 'h2c' }), expect), failure('Invalid Upgrade header'));
    assert.deepEqual(
      validateUpgradeResponse(response({ upgrade: 'websocket, h2c' }), expect),
      failure('Invalid Upgrade header'),
    );
  });

  it('fails on a Connection without upgrade', () => {
    assert.deepEqual(validateUpgradeResponse(response({ connection: undefined }), expect), failure('Invalid Connection header'));
    assert.deepEqual(validateUpgradeResponse(response({ connection: 'close' }), expect), failure('Invalid Connection header'));
  });

  it('fails on a missing or wrong Sec-WebSocket-Accept', () => {
    const bad = failure('Invalid Sec-WebSocket-Accept header');
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-accept': undefined }), expect), bad);
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-accept': 'C/0nmHhBztSRGR1CwL6Tf4ZjwpY=' }), expect), bad);
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-accept': [ACCEPT, ACCEPT] }), expect), bad);
  });

  it('fails on a subprotocol that was not offered', () => {
    const bad = failure('Server sent an invalid subprotocol');
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-protocol': 'other' }), expect), bad);
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-protocol': 'Chat' }), expect), bad);
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-protocol': 'chat, superchat' }), expect), bad);
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-protocol': ['chat', 'chat'] }), expect), bad);
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-protocol': '' }), expect), bad);
  });

  it('fails on a subprotocol when none was requested', () => {
    assert.deepEqual(
      validateUpgradeResponse(response({ 'sec-websocket-protocol': 'chat' }), { ...expect, protocols: [] }),
      failure('Server sent a subprotocol but none was requested'),
    );
  });

  it('fails on an extension that was not requested', () => {
    const bad = failure('Server indicated an extension that was not requested');
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-extensions': 'x-foo' }), expect), bad);
    assert.deepEqual(
      validateUpgradeResponse(response({ 'sec-websocket-extensions': 'permessage-deflate, x-foo' }), expect),
      bad,
    );
    assert.deepEqual(
      validateUpgradeResponse(response({ 'sec-websocket-extensions': 'permessage-deflate' }), { ...expect, extensionsOffered: [] }),
      bad,
    );
  });

  it('fails on a malformed or empty Sec-WebSocket-Extensions', () => {
    const bad = failure('Invalid Sec-WebSocket-Extensions header');
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-extensions': 'permessage-deflate;' }), expect), bad);
    assert.deepEqual(
      validateUpgradeResponse(response({ 'sec-websocket-extensions': 'permessage-deflate; a="b c"' }), expect),
      bad,
    );
    assert.deepEqual(validateUpgradeResponse(response({ 'sec-websocket-extensions': '' }), expect), bad);
  });
});
