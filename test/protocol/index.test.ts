import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as protocol from '../../src/protocol/index.js';
import { Connection } from '../../src/protocol/connection.js';
import { FrameParser } from '../../src/protocol/frame-parser.js';

describe('protocol index', () => {
  it('re-exports the public runtime API', () => {
    for (const name of [
      'Opcode', 'isControlOpcode', 'isKnownOpcode', 'CloseCode', 'MAX_CLOSE_REASON_BYTES', 'isValidWireCloseCode',
      'ProtocolError', 'applyMask', 'maskInto', 'randomMaskKey', 'encodeFrame', 'encodeFrameParts', 'encodeStringFrame',
      'headerSize', 'writeHeader', 'FrameParser', 'MessageBuffer', 'Utf8Validator', 'isValidUtf8', 'Connection',
      'Lifecycle', 'Phase', 'Cause', 'DEFAULTS', 'resolveSettings', 'Receiver', 'Sender', 'PreparedMessage', 'SendQueue',
    ]) {
      assert.ok(name in protocol && (protocol as Record<string, unknown>)[name] !== undefined, name);
    }
    assert.equal(protocol.Connection, Connection);
    assert.equal(protocol.FrameParser, FrameParser);
    assert.deepEqual({ ...protocol.Phase }, { Open: 1, ClosingByUs: 2, Closing: 3, Closed: 4 });
  });
});
