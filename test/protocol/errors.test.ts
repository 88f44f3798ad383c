import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, protocolError } from '../../src/protocol/errors.js';

describe('ProtocolError', () => {
  it('carries a stable code, a close code, a message and a cause', () => {
    const cause = new Error('inner');
    const e = new ProtocolError('WS_ERR_INVALID_UTF8', 1007, 'bad text', { cause });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ProtocolError');
    assert.equal(e.code, 'WS_ERR_INVALID_UTF8');
    assert.equal(e.closeCode, 1007);
    assert.equal(e.message, 'bad text');
    assert.equal(e.cause, cause);
  });

  it('protocolError() makes a 1002 error', () => {
    const e = protocolError('WS_ERR_INVALID_OPCODE', 'nope');
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.closeCode, 1002);
    assert.equal(e.code, 'WS_ERR_INVALID_OPCODE');
    assert.equal(e.message, 'nope');
  });
});
