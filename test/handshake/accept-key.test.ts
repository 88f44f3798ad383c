import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { WS_GUID, computeAccept, generateKey, isValidKey } from '../../src/handshake/accept-key.js';

describe('computeAccept', () => {
  it('matches the RFC 6455 1.3 example', () => {
    assert.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('uses the RFC GUID', () => {
    assert.equal(WS_GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });

  it('hashes the key as sent, not decoded (value from openssl sha1 | base64)', () => {
    assert.equal(computeAccept('AQIDBAUGBwgJCgsMDQ4PEA=='), 'C/0nmHhBztSRGR1CwL6Tf4ZjwpY=');
  });
});

describe('generateKey', () => {
  it('returns a valid key that decodes to 16 bytes', () => {
    const key = generateKey();
    assert.equal(isValidKey(key), true);
    assert.equal(Buffer.from(key, 'base64').length, 16);
  });

  it('returns a fresh key each time', () => {
    assert.notEqual(generateKey(), generateKey());
  });
});

describe('isValidKey', () => {
  it('accepts the RFC keys', () => {
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25jZQ=='), true);
    assert.equal(isValidKey('AQIDBAUGBwgJCgsMDQ4PEA=='), true);
  });

  it('accepts every canonical last character (A, Q, g, w)', () => {
    for (const c of 'AQgw') assert.equal(isValidKey(`AAAAAAAAAAAAAAAAAAAAA${c}==`), true, c);
  });

  it('rejects non-zero padding bits (RFC 4.1 shows AQIDBAUGBwgJCgsMDQ4PEC== but that is not canonical)', () => {
    assert.equal(isValidKey('AQIDBAUGBwgJCgsMDQ4PEC=='), false);
    assert.equal(isValidKey('AAAAAAAAAAAAAAAAAAAAAB=='), false);
    assert.equal(isValidKey('AAAAAAAAAAAAAAAAAAAAAx=='), false);
  });

  it('rejects 15- and 17-byte keys', () => {
    assert.equal(isValidKey(Buffer.alloc(15, 1).toString('base64')), false);
    assert.equal(isValidKey(Buffer.alloc(17, 1).toString('base64')), false);
    assert.equal(isValidKey(Buffer.alloc(16, 1).toString('base64')), true);
  });

  it('rejects bad characters, missing padding and url-safe base64', () => {
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25jZQ'), false);
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25jZQ='), false);
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25j-Q=='), false);
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25j_Q=='), false);
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25j*Q=='), false);
    assert.equal(isValidKey(''), false);
  });

  it('rejects surrounding or embedded whitespace', () => {
    assert.equal(isValidKey(' dGhlIHNhbXBsZSBub25jZQ=='), false);
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25jZQ== '), false);
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25jZQ==\n'), false);
    assert.equal(isValidKey('dGhlIHNhbXBs ZSBub25jZQ=='), false);
  });

  it('rejects two keys joined by a repeated header', () => {
    assert.equal(isValidKey('dGhlIHNhbXBsZSBub25jZQ==, AQIDBAUGBwgJCgsMDQ4PEA=='), false);
  });
});
