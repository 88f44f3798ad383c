// The lifecycle value: each transition, and every predicate read off it.
// Names follow the behaviour they pin (as tungstenite's tests do).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cause, Lifecycle, Phase } from '../../src/protocol/lifecycle.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const frame = (code: number, reason = '') => ({ code, reason: Buffer.from(reason) });

/** Every predicate at once, so a test states the whole picture. */
function picture(l: Lifecycle) {
  return {
    phase: l.phase,
    cause: l.cause,
    canSend: l.canSend,
    canRead: l.canRead,
    wasClean: l.wasClean,
    readyState: l.readyState,
    closeCode: l.closeCode,
    serverClosesFirst: l.closesTransportFirst('server'),
    clientClosesFirst: l.closesTransportFirst('client'),
  };
}

describe('Lifecycle', () => {
  it('open: sends and reads, OPEN, nothing stopped', () => {
    assert.deepEqual(picture(new Lifecycle()), {
      phase: Phase.Open, cause: Cause.None, canSend: true, canRead: true, wasClean: false,
      readyState: 1, closeCode: 1006, serverClosesFirst: true, clientClosesFirst: true,
    });
  });

  it('close_by_us_then_peer: ClosingByUs reads but does not send; the answer makes it clean; a client then waits for the FIN', () => {
    const l = new Lifecycle();
    l.sentClose(frame(1000, 'bye'));
    assert.deepEqual(picture(l), {
      phase: Phase.ClosingByUs, cause: Cause.None, canSend: false, canRead: true, wasClean: false,
      readyState: 2, closeCode: 1006, serverClosesFirst: true, clientClosesFirst: true,
    });
    l.receivedClose(frame(1001, 'ok'));
    assert.deepEqual(picture(l), {
      phase: Phase.Closing, cause: Cause.Clean, canSend: false, canRead: false, wasClean: true,
      readyState: 2, closeCode: 1001, serverClosesFirst: true, clientClosesFirst: false,
    });
    assert.deepEqual(l.closeReason, Buffer.from('ok'));
    l.transportClosed();
    assert.equal(l.phase, Phase.Closed);
    assert.equal(l.readyState, 3);
    assert.equal(l.wasClean, true, 'the cause stays once the transport closed');
  });

  it('close_by_peer: answered in the same step, clean (no ClosingByPeer phase)', () => {
    const l = new Lifecycle();
    l.sentClose(frame(1005)); // the connection sends the answer first...
    l.receivedClose(frame(1005)); // ...then records the peer's Close
    assert.equal(l.phase, Phase.Closing);
    assert.equal(l.cause, Cause.Clean);
    assert.equal(l.closeCode, 1005);
  });

  it('failed: stops both ways, not clean, reports the code we sent; the client does not wait', () => {
    const l = new Lifecycle();
    const error = new ProtocolError('WS_ERR_INVALID_UTF8', 1007, 'bad');
    l.sentClose(frame(1007));
    l.failed(error);
    assert.deepEqual(picture(l), {
      phase: Phase.Closing, cause: Cause.Failed, canSend: false, canRead: false, wasClean: false,
      readyState: 2, closeCode: 1007, serverClosesFirst: true, clientClosesFirst: true,
    });
    assert.equal(l.failure, error);
  });

  it('eof_before_close: unclean 1006; after our Close too', () => {
    for (const closeFirst of [false, true]) {
      const l = new Lifecycle();
      if (closeFirst) l.sentClose(frame(1000));
      l.eof();
      assert.equal(l.cause, Cause.Eof);
      assert.equal(l.wasClean, false);
      assert.equal(l.closeCode, 1006);
      assert.equal(l.canRead, false);
    }
  });

  it('the first cause stays: EOF or a transport close after a clean close keeps it clean', () => {
    const l = new Lifecycle();
    l.sentClose(frame(1000));
    l.receivedClose(frame(1000));
    l.eof();
    l.aborted();
    l.transportClosed();
    assert.equal(l.cause, Cause.Clean);
  });

  it('aborted: and a transport closed while open counts as aborted', () => {
    const a = new Lifecycle();
    a.aborted();
    assert.equal(a.cause, Cause.Aborted);
    assert.equal(a.phase, Phase.Closing);
    assert.equal(a.readyState, 2);
    const b = new Lifecycle();
    b.transportClosed();
    assert.equal(b.cause, Cause.Aborted);
    assert.equal(b.phase, Phase.Closed);
    assert.equal(b.closeCode, 1006);
  });
});
