import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode, MAX_CLOSE_REASON_BYTES, isValidWireCloseCode } from '../../src/protocol/close-code.js';

describe('CloseCode', () => {
  it('has the RFC 6455 7.4.1 values (plus the IANA-registered 1012-1014)', () => {
    assert.equal(CloseCode.NormalClosure, 1000);
    assert.equal(CloseCode.GoingAway, 1001);
    assert.equal(CloseCode.ProtocolError, 1002);
    assert.equal(CloseCode.UnsupportedData, 1003);
    assert.equal(CloseCode.NoStatusReceived, 1005);
    assert.equal(CloseCode.AbnormalClosure, 1006);
    assert.equal(CloseCode.InvalidFramePayloadData, 1007);
    assert.equal(CloseCode.PolicyViolation, 1008);
    assert.equal(CloseCode.MessageTooBig, 1009);
    assert.equal(CloseCode.MandatoryExtension, 1010);
    assert.equal(CloseCode.InternalError, 1011);
    assert.equal(CloseCode.ServiceRestart, 1012);
    assert.equal(CloseCode.TryAgainLater, 1013);
    assert.equal(CloseCode.BadGateway, 1014);
    assert.equal(CloseCode.TlsHandshake, 1015);
  });

  it('leaves 123 bytes for a reason (125 - 2)', () => {
    assert.equal(MAX_CLOSE_REASON_BYTES, 123);
  });
});

describe('isValidWireCloseCode', () => {
  it('accepts 1000-1003, 1007-1014 and 3000-4999', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      assert.equal(isValidWireCloseCode(code), true, String(code));
    }
  });

  it('rejects 0-999, 1004-1006, 1015-2999 and 5000+', () => {
    for (const code of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, -1000]) {
      assert.equal(isValidWireCloseCode(code), false, String(code));
    }
  });

  it('matches the ranges for every 16-bit value', () => {
    for (let code = 0; code < 65536; code++) {
      const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
      if (isValidWireCloseCode(code) !== expected) assert.fail(`code ${code}: expected ${expected}`);
    }
  });

  it('rejects non-integers and NaN (they cannot be written as a 16-bit code)', () => {
    for (const code of [1000.5, 3000.25, Number.NaN, Infinity]) assert.equal(isValidWireCloseCode(code), false, String(code));
  });
});
