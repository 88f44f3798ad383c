import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, isControlOpcode, isKnownOpcode } from '../../src/protocol/opcode.js';

describe('Opcode', () => {
  it('has the RFC 6455 5.2 values', () => {
    assert.deepEqual(
      { ...Opcode },
      { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa },
    );
  });
});

describe('isControlOpcode', () => {
  it('is true exactly for 0x8-0xF', () => {
    for (let op = 0; op < 16; op++) assert.equal(isControlOpcode(op), op >= 8, `opcode ${op}`);
  });
});

describe('isKnownOpcode', () => {
  it('accepts 0, 1, 2, 8, 9, 10 and rejects the reserved 3-7 and 0xB-0xF', () => {
    const known = new Set([0, 1, 2, 8, 9, 10]);
    for (let op = 0; op < 16; op++) assert.equal(isKnownOpcode(op), known.has(op), `opcode ${op}`);
  });
});
