// Memory per connection with permessage-deflate: once a compressed message
// was sent or received, nothing of it may stay reachable from the connection
// (an idle connection must cost no more than before its traffic). Checked
// with WeakRefs and a full GC on a sans-I/O Connection using the real
// transform, in both context-takeover modes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeflateTransform, type DeflateAgreement } from '../../../src/extensions/permessage-deflate/index.js';
import { Connection, resolveSettings, type ConnectionHandler, type ConnectionOutput } from '../../../src/protocol/index.js';
import { compressible, encode, KiB } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const NO_TAKEOVER: DeflateAgreement = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const TAKEOVER: DeflateAgreement = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Collects garbage outside the current job, so WeakRefs made in it can clear. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  await turn();
  gc();
  await turn();
  return ref.deref() === undefined;
}

/** A server-side Connection with the deflate transform; writes and messages are recorded. */
function serverConnection(agreement: DeflateAgreement) {
  const writes: Buffer[] = [];
  const messages: Buffer[] = [];
  let onMessage: (() => void) | null = null;
  const nextMessage = (): Promise<void> => new Promise((resolve) => (onMessage = resolve));
  const output: ConnectionOutput = {
    write(data, cb) {
      writes.push(data);
      if (cb) process.nextTick(cb);
    },
    closeTransport() {},
  };
  const handler: ConnectionHandler = {
    onMessage: (data) => {
      messages.push(data as Buffer);
      onMessage?.();
    },
    onPing() {},
    onPong() {},
    onCloseFrame() {},
    onFail(error) {
      throw error;
    },
  };
  const transform = new DeflateTransform('server', agreement, {});
  const conn = new Connection(resolveSettings({ role: 'server' }), handler, output, transform);
  return { conn, writes, messages, nextMessage, transform };
}

/** A masked client frame with RSV1 (mask key 0: payload unchanged). */
function compressedClientFrame(payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0xc2, 0x80 | len]) : Buffer.from([0xc2, 0x80 | 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

for (const [mode, agreement] of [
  ['no context takeover', NO_TAKEOVER],
  ['context takeover', TAKEOVER],
] as const) {
  describe(`a connection keeps nothing of its compressed messages (${mode})`, () => {
    test('a sent message is not retained once written', async () => {
      const { conn, writes, transform } = serverConnection(agreement);
      try {
        let payload: Buffer | null = compressible(64 * KiB);
        const ref = new WeakRef(payload);
        await new Promise<void>((resolve, reject) => conn.send(payload!, true, {}, (error) => (error ? reject(error) : resolve())));
        payload = null;
        assert.ok(writes.length > 0 && (writes[0]![0]! & 0x40) !== 0, 'sent with RSV1');
        writes.length = 0;
        assert.equal(await collected(ref), true, 'the first compressed message is still reachable');
        // A second message: same.
        let second: Buffer | null = compressible(64 * KiB, 7);
        const ref2 = new WeakRef(second);
        await new Promise<void>((resolve, reject) => conn.send(second!, true, {}, (error) => (error ? reject(error) : resolve())));
        second = null;
        writes.length = 0;
        assert.equal(await collected(ref2), true, 'the second compressed message is still reachable');
      } finally {
        conn.abort();
        transform.dispose();
      }
    });

    test('a received message is not retained once delivered', async () => {
      const { conn, messages, nextMessage, transform } = serverConnection(agreement);
      const peer = new DeflateTransform('client', agreement, {});
      try {
        const data = compressible(32 * KiB);
        const frame = compressedClientFrame(await encode(peer, data));
        const delivered = nextMessage();
        conn.receiveData(frame);
        await delivered;
        assert.ok(messages[0]!.equals(data));
        const ref = new WeakRef(messages[0]!);
        messages.length = 0;
        assert.equal(await collected(ref), true, 'the delivered message is still reachable');
      } finally {
        conn.abort();
        transform.dispose();
        peer.dispose();
      }
    });
  });
}
