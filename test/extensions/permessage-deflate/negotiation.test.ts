// permessage-deflate negotiation (RFC 7692 sections 5 and 7.1): parameter
// validation, the server's pick among offers and its exact response, the
// client's exact offer and its check of the server's answer. Pure functions:
// offers and responses are written as the header text a peer would send.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { formatExtensions, parseExtensions, type ExtensionOffer } from '../../../src/handshake/index.js';
import { checkOptions } from '../../../src/extensions/permessage-deflate/options.js';
import {
  acceptOffer,
  acceptResponse,
  clientOffer,
  clientPerMessageDeflate,
  parseDeflateParams,
  serverPerMessageDeflate,
  type PerMessageDeflateOptions,
} from '../../../src/extensions/permessage-deflate/index.js';
import { deflateStats } from './helpers.js';

/** The single extension of a header value. */
function one(header: string): ExtensionOffer {
  const list = parseExtensions(header);
  assert.equal(list.length, 1, header);
  return list[0]!;
}
const params = (header: string, kind: 'offer' | 'response') => parseDeflateParams(one(header).params, kind);

/** Our response to `header` under `options`, as the header text we would send (null: declined). */
function respond(header: string, options: PerMessageDeflateOptions = {}): string | null {
  const accepted = acceptOffer(parseExtensions(header), checkOptions(options));
  return accepted === null ? null : formatExtensions([accepted.response]);
}

describe('parseDeflateParams', () => {
  test('no parameters: nothing requested', () => {
    for (const kind of ['offer', 'response'] as const) {
      assert.deepEqual(params('permessage-deflate', kind), {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: undefined,
        clientMaxWindowBits: undefined,
      });
    }
  });

  test('every parameter with a valid value', () => {
    const header =
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=8';
    for (const kind of ['offer', 'response'] as const) {
      assert.deepEqual(params(header, kind), {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 8,
      });
    }
  });

  test('window bits 8 to 15 are accepted, as token or quoted-string', () => {
    for (let bits = 8; bits <= 15; bits++) {
      assert.deepEqual(params(`permessage-deflate; server_max_window_bits=${bits}`, 'response'), {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: bits,
        clientMaxWindowBits: undefined,
      });
      const quoted = params(`permessage-deflate; client_max_window_bits="${bits}"`, 'offer');
      assert.equal(typeof quoted === 'object' && quoted.clientMaxWindowBits, bits);
    }
  });

  test('unknown parameter', () => {
    assert.equal(params('permessage-deflate; foo', 'offer'), 'unknown parameter "foo"');
    assert.equal(params('permessage-deflate; server_no_context_takeover; mux=1', 'response'), 'unknown parameter "mux"');
    // A parameter name differing only in case is another, unknown, name.
    assert.equal(params('permessage-deflate; Server_No_Context_Takeover', 'offer'), 'unknown parameter "Server_No_Context_Takeover"');
  });

  test('duplicate parameter, even with the same value', () => {
    assert.equal(
      params('permessage-deflate; server_no_context_takeover; server_no_context_takeover', 'offer'),
      'duplicate parameter "server_no_context_takeover"',
    );
    assert.equal(
      params('permessage-deflate; client_max_window_bits=10; client_max_window_bits=10', 'response'),
      'duplicate parameter "client_max_window_bits"',
    );
    assert.equal(
      params('permessage-deflate; client_max_window_bits; client_max_window_bits=10', 'offer'),
      'duplicate parameter "client_max_window_bits"',
    );
  });

  test('a value on a flag', () => {
    assert.equal(params('permessage-deflate; server_no_context_takeover=1', 'offer'), 'parameter "server_no_context_takeover" takes no value');
    assert.equal(params('permessage-deflate; client_no_context_takeover=true', 'response'), 'parameter "client_no_context_takeover" takes no value');
  });

  test('window bits out of range, with a leading zero or not decimal', () => {
    const cases: Array<[string, string]> = [
      ['7', 'invalid value for "server_max_window_bits": 7'],
      ['16', 'invalid value for "server_max_window_bits": 16'],
      ['09', 'invalid value for "server_max_window_bits": 09'],
      ['010', 'invalid value for "server_max_window_bits": 010'],
      ['0', 'invalid value for "server_max_window_bits": 0'],
      ['+9', 'invalid value for "server_max_window_bits": +9'],
      ['0x0f', 'invalid value for "server_max_window_bits": 0x0f'],
      ['15.0', 'invalid value for "server_max_window_bits": 15.0'],
    ];
    for (const [value, reason] of cases) {
      for (const kind of ['offer', 'response'] as const) {
        assert.equal(params(`permessage-deflate; server_max_window_bits=${value}`, kind), reason, `${kind} ${value}`);
        assert.equal(
          params(`permessage-deflate; client_max_window_bits=${value}`, kind),
          reason.replace('server_', 'client_'),
          `${kind} client ${value}`,
        );
      }
    }
  });

  test('server_max_window_bits needs a value in an offer and in a response', () => {
    for (const kind of ['offer', 'response'] as const) {
      assert.equal(params('permessage-deflate; server_max_window_bits', kind), 'invalid value for "server_max_window_bits": (none)');
    }
  });

  test('client_max_window_bits without a value: fine in an offer, invalid in a response', () => {
    const offer = params('permessage-deflate; client_max_window_bits', 'offer');
    assert.deepEqual(offer, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: undefined,
      clientMaxWindowBits: true,
    });
    assert.equal(params('permessage-deflate; client_max_window_bits', 'response'), 'parameter "client_max_window_bits" needs a value in a response');
  });
});

describe('acceptOffer (server)', () => {
  const DEFAULT = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

  test('default options: both no_context_takeover flags, nothing else', () => {
    const accepted = acceptOffer(parseExtensions('permessage-deflate'), {});
    assert.deepEqual(accepted, {
      response: {
        name: 'permessage-deflate',
        params: [
          { name: 'server_no_context_takeover', value: null },
          { name: 'client_no_context_takeover', value: null },
        ],
      },
      agreement: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    });
  });

  test('default options: exact responses to common offers', () => {
    // What ws, browsers and Python websockets send.
    assert.equal(respond('permessage-deflate; client_max_window_bits'), DEFAULT);
    assert.equal(respond('permessage-deflate; client_max_window_bits=15'), `${DEFAULT}; client_max_window_bits=15`);
    assert.equal(respond('permessage-deflate; client_max_window_bits=10'), `${DEFAULT}; client_max_window_bits=10`);
    assert.equal(respond('permessage-deflate; server_max_window_bits=10'), `${DEFAULT}; server_max_window_bits=10`);
    assert.equal(respond('permessage-deflate; server_no_context_takeover'), DEFAULT);
    assert.equal(respond('permessage-deflate; client_no_context_takeover; client_max_window_bits'), DEFAULT);
    assert.equal(
      respond('permessage-deflate; server_max_window_bits=8; client_max_window_bits=9'),
      `${DEFAULT}; server_max_window_bits=8; client_max_window_bits=9`,
    );
  });

  test('agreement follows the response', () => {
    const accepted = acceptOffer(parseExtensions('permessage-deflate; server_max_window_bits=9; client_max_window_bits=12'), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
    });
    assert.deepEqual(accepted?.agreement, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 9, clientMaxWindowBits: 12 });
  });

  test('serverNoContextTakeover: false keeps the context unless the client asks', () => {
    const options = { serverNoContextTakeover: false };
    assert.equal(respond('permessage-deflate', options), 'permessage-deflate; client_no_context_takeover');
    assert.equal(respond('permessage-deflate; server_no_context_takeover', options), DEFAULT);
    assert.equal(acceptOffer(parseExtensions('permessage-deflate'), options)?.agreement.serverNoContextTakeover, false);
  });

  test('clientNoContextTakeover: false lets the client keep its context', () => {
    const options = { clientNoContextTakeover: false };
    assert.equal(respond('permessage-deflate', options), 'permessage-deflate; server_no_context_takeover');
    // The client's own hint does not force it into our response.
    assert.equal(respond('permessage-deflate; client_no_context_takeover', options), 'permessage-deflate; server_no_context_takeover');
    assert.equal(acceptOffer(parseExtensions('permessage-deflate'), options)?.agreement.clientNoContextTakeover, false);
  });

  test('both context takeovers allowed: an empty response', () => {
    const options = { serverNoContextTakeover: false, clientNoContextTakeover: false };
    assert.equal(respond('permessage-deflate', options), 'permessage-deflate');
    assert.equal(respond('permessage-deflate; client_max_window_bits', options), 'permessage-deflate');
  });

  test('serverMaxWindowBits: always announced, never above what the client asked', () => {
    const options = { serverMaxWindowBits: 10 };
    assert.equal(respond('permessage-deflate', options), `${DEFAULT}; server_max_window_bits=10`);
    assert.equal(respond('permessage-deflate; server_max_window_bits=12', options), `${DEFAULT}; server_max_window_bits=10`);
    assert.equal(respond('permessage-deflate; server_max_window_bits=9', options), `${DEFAULT}; server_max_window_bits=9`);
    assert.equal(acceptOffer(parseExtensions('permessage-deflate; server_max_window_bits=12'), options)?.agreement.serverMaxWindowBits, 10);
  });

  test('clientMaxWindowBits: imposed only when the offer carries client_max_window_bits', () => {
    const options = { clientMaxWindowBits: 10 };
    assert.equal(respond('permessage-deflate; client_max_window_bits', options), `${DEFAULT}; client_max_window_bits=10`);
    assert.equal(respond('permessage-deflate; client_max_window_bits=12', options), `${DEFAULT}; client_max_window_bits=10`);
    assert.equal(respond('permessage-deflate; client_max_window_bits=9', options), `${DEFAULT}; client_max_window_bits=9`);
    // RFC 7692 7.1.2.2: no client_max_window_bits in the offer, none in the response.
    assert.equal(respond('permessage-deflate', options), DEFAULT);
    assert.equal(acceptOffer(parseExtensions('permessage-deflate'), options)?.agreement.clientMaxWindowBits, 15);
    assert.equal(acceptOffer(parseExtensions('permessage-deflate; client_max_window_bits'), options)?.agreement.clientMaxWindowBits, 10);
  });

  test('several offers: the first acceptable one is picked', () => {
    assert.equal(
      respond('permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=12'),
      `${DEFAULT}; server_max_window_bits=10`,
    );
    // First invalid (unknown parameter, duplicate, bad value): the second is chosen.
    assert.equal(respond('permessage-deflate; foo, permessage-deflate; server_max_window_bits=11'), `${DEFAULT}; server_max_window_bits=11`);
    assert.equal(
      respond('permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate; client_max_window_bits'),
      DEFAULT,
    );
    assert.equal(respond('permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=9'), `${DEFAULT}; server_max_window_bits=9`);
    // Other extensions are skipped.
    assert.equal(respond('x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=11'), `${DEFAULT}; client_max_window_bits=11`);
  });

  test('every offer invalid or foreign: declined (null), never thrown', () => {
    assert.equal(respond('permessage-deflate; foo, permessage-deflate; client_max_window_bits=7'), null);
    assert.equal(respond('permessage-deflate; client_no_context_takeover=1'), null);
    assert.equal(respond('x-webkit-deflate-frame'), null);
    assert.equal(acceptOffer([], {}), null);
  });

  test('serverPerMessageDeflate wraps acceptOffer and builds a transform', () => {
    const ext = serverPerMessageDeflate({ serverMaxWindowBits: 11 });
    assert.equal(ext.name, 'permessage-deflate');
    const accepted = ext.accept(parseExtensions('permessage-deflate; client_max_window_bits'));
    assert.ok(accepted);
    assert.equal(formatExtensions([accepted.response]), `${DEFAULT}; server_max_window_bits=11`);
    const transform = accepted.createTransform();
    assert.equal(transform.name, 'permessage-deflate');
    transform.dispose();
    assert.equal(ext.accept(parseExtensions('permessage-deflate; bogus')), null);
  });

  test('invalid options are refused when the extension is created', () => {
    assert.throws(() => serverPerMessageDeflate({ serverMaxWindowBits: 16 }), RangeError);
    assert.throws(() => serverPerMessageDeflate({ clientMaxWindowBits: 7 }), RangeError);
    assert.throws(() => clientPerMessageDeflate({ serverMaxWindowBits: 9.5 }), RangeError);
    assert.throws(() => clientPerMessageDeflate({ threshold: -1 }), RangeError);
    assert.throws(() => clientPerMessageDeflate({ concurrencyLimit: -1 }), RangeError);
  });

  test('concurrencyLimit: an integer >= 1, or 0 or Infinity for no limit (as ws); other numbers are refused', () => {
    // ws would run without a limit for these too (its limiter never reaches -1 or 1.5 running jobs): a mistake, refused here.
    for (const concurrencyLimit of [-1, 0.5, 1.5, 10.1, Number.NaN, Number.NEGATIVE_INFINITY]) {
      assert.throws(
        () => serverPerMessageDeflate({ concurrencyLimit }),
        { name: 'RangeError', message: 'perMessageDeflate.concurrencyLimit must be an integer >= 1, or 0 or Infinity for no limit' },
        String(concurrencyLimit),
      );
      assert.throws(() => clientPerMessageDeflate({ concurrencyLimit }), RangeError, String(concurrencyLimit));
    }
    for (const concurrencyLimit of [0, 1, 2, 10, 1000, Number.POSITIVE_INFINITY]) {
      assert.doesNotThrow(() => serverPerMessageDeflate({ concurrencyLimit }));
      assert.doesNotThrow(() => clientPerMessageDeflate({ concurrencyLimit }));
    }
  });
});

describe('clientOffer', () => {
  const offer = (options: PerMessageDeflateOptions) => formatExtensions([clientOffer(checkOptions(options))]);

  test('clientMaxWindowBits: true (as ws accepts) offers the parameter without a value, on both sides', () => {
    assert.equal(offer({ clientMaxWindowBits: true }), 'permessage-deflate; client_max_window_bits');
    assert.doesNotThrow(() => clientPerMessageDeflate({ clientMaxWindowBits: true }));
    assert.equal(respond('permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: true }), respond('permessage-deflate; client_max_window_bits=10'));
  });

  test('default: client_max_window_bits without a value, so the server may shrink our window', () => {
    assert.equal(offer({}), 'permessage-deflate; client_max_window_bits');
    assert.deepEqual(clientOffer({}), { name: 'permessage-deflate', params: [{ name: 'client_max_window_bits', value: null }] });
  });

  test('each option adds its parameter', () => {
    assert.equal(offer({ serverNoContextTakeover: true }), 'permessage-deflate; server_no_context_takeover; client_max_window_bits');
    assert.equal(offer({ clientNoContextTakeover: true }), 'permessage-deflate; client_no_context_takeover; client_max_window_bits');
    assert.equal(offer({ serverMaxWindowBits: 10 }), 'permessage-deflate; server_max_window_bits=10; client_max_window_bits');
    assert.equal(offer({ clientMaxWindowBits: 9 }), 'permessage-deflate; client_max_window_bits=9');
    assert.equal(offer({ serverNoContextTakeover: false, clientNoContextTakeover: false }), 'permessage-deflate; client_max_window_bits');
  });

  test('all options together', () => {
    assert.equal(
      offer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 12 }),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=12',
    );
  });

  test('our own offer is valid and accepted by our own server', () => {
    const options = { serverNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11 };
    const accepted = acceptOffer(parseExtensions(offer(options)), {});
    assert.ok(accepted);
    assert.deepEqual(acceptResponse(accepted.response, options), accepted.agreement);
  });
});

describe('acceptResponse (client)', () => {
  const accept = (header: string, options: PerMessageDeflateOptions = {}) => acceptResponse(one(header), checkOptions(options));

  test('an empty response: both contexts taken over, 15-bit windows', () => {
    assert.deepEqual(accept('permessage-deflate'), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
  });

  test('every parameter the server may impose is honoured', () => {
    assert.deepEqual(
      accept('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9'),
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    );
  });

  test('server_max_window_bits=8 from the server is accepted', () => {
    assert.equal(accept('permessage-deflate; server_max_window_bits=8').serverMaxWindowBits, 8);
    assert.equal(accept('permessage-deflate; server_max_window_bits=8', { serverMaxWindowBits: 10 }).serverMaxWindowBits, 8);
    assert.equal(accept('permessage-deflate; client_max_window_bits=8').clientMaxWindowBits, 8);
  });

  test('our own client_max_window_bits still bounds us when the server answers larger or nothing', () => {
    assert.equal(accept('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 }).clientMaxWindowBits, 10);
    assert.equal(accept('permessage-deflate', { clientMaxWindowBits: 10 }).clientMaxWindowBits, 10);
  });

  test('a response that does not honour server_no_context_takeover is refused', () => {
    assert.throws(
      () => accept('permessage-deflate', { serverNoContextTakeover: true }),
      { message: 'Invalid permessage-deflate response: server_no_context_takeover was requested but not accepted' },
    );
    assert.equal(accept('permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: true }).serverNoContextTakeover, true);
  });

  test('a response with a larger or missing server_max_window_bits than requested is refused', () => {
    const message = 'Invalid permessage-deflate response: server_max_window_bits must be at most 10';
    assert.throws(() => accept('permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }), { message });
    assert.throws(() => accept('permessage-deflate; server_max_window_bits=15', { serverMaxWindowBits: 10 }), { message });
    assert.throws(() => accept('permessage-deflate', { serverMaxWindowBits: 10 }), { message });
    assert.equal(accept('permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }).serverMaxWindowBits, 10);
  });

  test('invalid responses are refused, naming what is wrong', () => {
    const cases: Array<[string, string]> = [
      ['permessage-deflate; foo', 'unknown parameter "foo"'],
      ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', 'duplicate parameter "server_no_context_takeover"'],
      ['permessage-deflate; server_max_window_bits=16', 'invalid value for "server_max_window_bits": 16'],
      ['permessage-deflate; server_max_window_bits=7', 'invalid value for "server_max_window_bits": 7'],
      ['permessage-deflate; server_max_window_bits=09', 'invalid value for "server_max_window_bits": 09'],
      ['permessage-deflate; client_max_window_bits', 'parameter "client_max_window_bits" needs a value in a response'],
      ['permessage-deflate; client_no_context_takeover=yes', 'parameter "client_no_context_takeover" takes no value'],
    ];
    for (const [header, reason] of cases) {
      assert.throws(() => accept(header), { message: `Invalid permessage-deflate response: ${reason}` }, header);
    }
  });

  test('clientPerMessageDeflate: offers() and accept() wrap the pure functions', () => {
    const ext = clientPerMessageDeflate({ serverNoContextTakeover: true });
    assert.equal(formatExtensions(ext.offers()), 'permessage-deflate; server_no_context_takeover; client_max_window_bits');
    assert.throws(() => ext.accept(one('permessage-deflate')), /server_no_context_takeover was requested/);
    const transform = ext.accept(one('permessage-deflate; server_no_context_takeover'))();
    assert.equal(transform.name, 'permessage-deflate');
    transform.dispose();
  });
});

describe('a 9-bit zlib window stays within an agreed 8-bit window', () => {
  // zlib refuses to deflate with an 8-bit window (it uses 9 when asked for 8),
  // yet its longest match distance is the window size minus MIN_LOOKAHEAD:
  // 512 - 262 = 250 bytes, below 256. So what a 9-bit deflater emits is
  // decodable by any 256-byte (8-bit) window, and answering
  // server_max_window_bits=8 / client_max_window_bits=8 is honest.

  /** Bytes full of back-references at distances 1..600 (so some fall between 250 and 512). */
  function varied(n: number, seed: number): Buffer {
    const out = Buffer.alloc(n);
    let x = seed >>> 0;
    const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    let i = 0;
    while (i < n) {
      const back = 1 + (next() % 600);
      const len = 3 + (next() % 300);
      if (i > back && next() % 2 === 0) {
        for (let k = 0; k < len && i < n; k++, i++) out[i] = out[i - back]!;
      } else {
        for (let k = 0; k < 20 && i < n; k++, i++) out[i] = next() & 0xff;
      }
    }
    return out;
  }

  for (const level of [1, 6, 9]) {
    test(`level ${level}: windowBits 9 output inflates with windowBits 8`, () => {
      for (const seed of [1, 2, 3]) {
        const data = varied(256 * 1024, seed);
        const compressed = deflateRawSync(data, { windowBits: 9, level, memLevel: 9, finishFlush: constants.Z_SYNC_FLUSH });
        assert.ok(compressed.length < data.length * 0.9, 'the data does compress (matches were used)');
        // zlib's inflate only enforces its window across output chunks: measure the distances too.
        const stats = deflateStats(compressed);
        assert.equal(stats.output, data.length);
        assert.ok(stats.maxDistance > 200 && stats.maxDistance <= 250, `longest match distance ${stats.maxDistance}`);
        const back = inflateRawSync(compressed, { windowBits: 8, chunkSize: 64, finishFlush: constants.Z_SYNC_FLUSH });
        assert.ok(back.equals(data), `round trip, seed ${seed}`);
      }
    });
  }

  test('control: windowBits 10 output does not fit an 8-bit window (the check above is real)', () => {
    const data = varied(256 * 1024, 1);
    const compressed = deflateRawSync(data, { windowBits: 10, level: 6, finishFlush: constants.Z_SYNC_FLUSH });
    assert.ok(deflateStats(compressed).maxDistance > 256);
    assert.throws(() => inflateRawSync(compressed, { windowBits: 8, finishFlush: constants.Z_SYNC_FLUSH }), /invalid distance too far back/);
  });
});
