import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  HeaderLimitError,
  HeaderSyntaxError,
  formatExtensions,
  headerHasToken,
  isToken,
  parseExtensions,
  parseTokenList,
} from '../../src/handshake/header-grammar.js';
import { measureWork } from '../support/work-meter.js';

/** Asserts that `fn` throws a HeaderSyntaxError with exactly this message. */
function assertSyntaxError(fn: () => unknown, message: string, index: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HeaderSyntaxError, 'expected a HeaderSyntaxError');
    assert.equal(err.name, 'HeaderSyntaxError');
    assert.equal(err.message, message);
    assert.equal(err.index, index);
    return true;
  });
}

describe('isToken', () => {
  it('accepts every tchar', () => {
    assert.equal(isToken("!#$%&'*+-.^_`|~09AZaz"), true);
    assert.equal(isToken('permessage-deflate'), true);
  });

  it('rejects the empty string, separators, spaces, controls and non-ASCII', () => {
    for (const s of ['', 'a b', 'a,b', 'a;b', 'a=b', '"a"', 'a/b', 'a(b)', 'a:b', 'a\tb', 'a\x00', 'a\x7f', 'é', 'a@b', 'a?b', '{a}', '[a]', 'a\\b']) {
      assert.equal(isToken(s), false, JSON.stringify(s));
    }
  });
});

describe('parseTokenList', () => {
  it('returns [] for a missing or empty header', () => {
    assert.deepEqual(parseTokenList(undefined), []);
    assert.deepEqual(parseTokenList(''), []);
    assert.deepEqual(parseTokenList(' , ,'), []);
  });

  it('trims OWS around elements', () => {
    assert.deepEqual(parseTokenList(' chat ,\tsuperchat\t,  v2.json '), ['chat', 'superchat', 'v2.json']);
  });

  it('skips empty elements (RFC 7230 7)', () => {
    assert.deepEqual(parseTokenList(',a,,b,'), ['a', 'b']);
  });

  it('joins multiple header instances', () => {
    assert.deepEqual(parseTokenList(['a, b', 'c', '']), ['a', 'b', 'c']);
  });

  it('keeps case and duplicates (deciding about them is the caller\'s job)', () => {
    assert.deepEqual(parseTokenList('Chat, chat, chat'), ['Chat', 'chat', 'chat']);
  });

  it('rejects non-token elements with the position', () => {
    assertSyntaxError(() => parseTokenList('chat, super chat'), 'Unexpected character "c" at index 12 in token list', 12);
    assertSyntaxError(() => parseTokenList('a;b'), 'Unexpected character ";" at index 1 in token list', 1);
    assertSyntaxError(() => parseTokenList('"a"'), 'Unexpected character "\\"" at index 0 in token list', 0);
    assertSyntaxError(() => parseTokenList(['ok', 'x/1']), 'Unexpected character "/" at index 4 in token list', 4);
  });
});

describe('parseTokenList: element limit', () => {
  it('returns up to the limit, empty elements not counted', () => {
    assert.deepEqual(parseTokenList(' a, ,b,,c ', 3), ['a', 'b', 'c']);
  });

  it('throws HeaderLimitError at the first element past the limit, with its index', () => {
    assert.throws(() => parseTokenList('a, b, c, d', 2), (err: unknown) => {
      assert.ok(err instanceof HeaderLimitError);
      assert.equal(err.name, 'HeaderLimitError');
      assert.equal(err.message, 'more than 2 elements');
      assert.equal(err.index, 6);
      assert.equal(err.limit, 2);
      return true;
    });
  });

  it('stops reading there: a 4,000-element list costs what its first elements cost', () => {
    const value = Array.from({ length: 4000 }, (_, i) => `t${i}`).join(',');
    const prefix = value.slice(0, value.indexOf(',t65,') + 5).length;
    const { work } = measureWork(() => assert.throws(() => parseTokenList(value, 64), HeaderLimitError));
    assert.ok(work.charReads + work.scanned <= 4 * prefix, `${work.charReads} reads + ${work.scanned} scanned for a ${prefix}-character prefix`);
  });
});

describe('headerHasToken', () => {
  it('finds a token anywhere in the list, in any case', () => {
    assert.equal(headerHasToken('keep-alive, Upgrade', 'upgrade'), true);
    assert.equal(headerHasToken('UpGrAdE', 'upgrade'), true);
    assert.equal(headerHasToken('Upgrade,keep-alive', 'UPGRADE'), true);
    assert.equal(headerHasToken(['keep-alive', ' upgrade\t'], 'upgrade'), true);
  });

  it('ignores non-token neighbours such as protocol versions', () => {
    assert.equal(headerHasToken('HTTP/2.0, websocket', 'websocket'), true);
  });

  it('does not match substrings or absent headers, and never throws', () => {
    assert.equal(headerHasToken('upgrades', 'upgrade'), false);
    assert.equal(headerHasToken('no-upgrade', 'upgrade'), false);
    assert.equal(headerHasToken('up grade', 'upgrade'), false);
    assert.equal(headerHasToken('"upgrade"', 'upgrade'), false);
    assert.equal(headerHasToken(undefined, 'upgrade'), false);
    assert.equal(headerHasToken('', 'upgrade'), false);
    assert.equal(headerHasToken([], 'upgrade'), false);
  });

  it('trims only the OWS around an element, and reads each character a bounded number of times', () => {
    assert.equal(headerHasToken(' \t upgrade \t ,x', 'upgrade'), true);
    assert.equal(headerHasToken('up\tgrade', 'upgrade'), false);
    const hostile = `a${' '.repeat(12_000)}b, upgrade`;
    const { result, work } = measureWork(() => headerHasToken(hostile, 'upgrade'));
    assert.equal(result, true);
    assert.deepEqual(work.regexInputs, []);
    assert.ok(work.charReads + work.scanned <= 3 * hostile.length, `${work.charReads} reads + ${work.scanned} scanned`);
  });
});

describe('parseExtensions', () => {
  it('parses a valueless parameter', () => {
    assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits'), [
      { name: 'permessage-deflate', params: [{ name: 'client_max_window_bits', value: null }] },
    ]);
  });

  it('unquotes a quoted value', () => {
    assert.deepEqual(parseExtensions('permessage-deflate; server_max_window_bits="10"'), [
      { name: 'permessage-deflate', params: [{ name: 'server_max_window_bits', value: '10' }] },
    ]);
  });

  it('unescapes quoted-pairs', () => {
    assert.deepEqual(parseExtensions('a; b="\\1\\0"'), [{ name: 'a', params: [{ name: 'b', value: '10' }] }]);
  });

  it('allows OWS around ";", "," and "="', () => {
    assert.deepEqual(parseExtensions(' a ;\tb = 1 ; c= "2" ,\td ; e '), [
      { name: 'a', params: [{ name: 'b', value: '1' }, { name: 'c', value: '2' }] },
      { name: 'd', params: [{ name: 'e', value: null }] },
    ]);
  });

  it('parses several offers, keeping order (RFC 9.1 example)', () => {
    assert.deepEqual(parseExtensions('mux; max-channels=4; flow-control, deflate-stream'), [
      { name: 'mux', params: [{ name: 'max-channels', value: '4' }, { name: 'flow-control', value: null }] },
      { name: 'deflate-stream', params: [] },
    ]);
  });

  it('keeps duplicate parameters and duplicate offers', () => {
    assert.deepEqual(parseExtensions('x; a=1; a=2, x'), [
      { name: 'x', params: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] },
      { name: 'x', params: [] },
    ]);
  });

  it('skips empty list elements', () => {
    assert.deepEqual(parseExtensions('a,,b'), [{ name: 'a', params: [] }, { name: 'b', params: [] }]);
    assert.deepEqual(parseExtensions(', a ,'), [{ name: 'a', params: [] }]);
  });

  it('joins multiple header instances (RFC 9.1)', () => {
    assert.deepEqual(parseExtensions(['foo', 'bar; baz=2']), [
      { name: 'foo', params: [] },
      { name: 'bar', params: [{ name: 'baz', value: '2' }] },
    ]);
  });

  it('returns [] for a missing or empty header', () => {
    assert.deepEqual(parseExtensions(undefined), []);
    assert.deepEqual(parseExtensions('  '), []);
  });

  it('rejects a quoted value that is not a token', () => {
    assertSyntaxError(() => parseExtensions('a; b="c d"'), 'Quoted value "c d" at index 5 is not a token', 5);
    assertSyntaxError(() => parseExtensions('a; b=""'), 'Quoted value "" at index 5 is not a token', 5);
  });

  it('rejects a trailing ";"', () => {
    assertSyntaxError(() => parseExtensions('a;'), 'Unexpected end of input at index 2: expected parameter name', 2);
  });

  it('rejects a leading ";"', () => {
    assertSyntaxError(() => parseExtensions(';a'), 'Unexpected character ";" at index 0: expected extension name', 0);
  });

  it('rejects a stray ";" between parameters', () => {
    assertSyntaxError(() => parseExtensions('a; ; b'), 'Unexpected character ";" at index 3: expected parameter name', 3);
  });

  it('rejects an unterminated quoted-string', () => {
    assertSyntaxError(() => parseExtensions('a; b="10'), 'Unterminated quoted-string starting at index 5', 5);
    assertSyntaxError(() => parseExtensions('a; b="10\\"'), 'Unterminated quoted-string starting at index 5', 5);
    assertSyntaxError(() => parseExtensions('a; b="10\\'), 'Unterminated quoted-string starting at index 5', 5);
  });

  it('rejects a missing value after "="', () => {
    assertSyntaxError(() => parseExtensions('a; b='), 'Unexpected end of input at index 5: expected parameter value', 5);
    assertSyntaxError(() => parseExtensions('a; b= , c'), 'Unexpected character "," at index 6: expected parameter value', 6);
  });

  it('rejects bad characters and trailing garbage', () => {
    assertSyntaxError(() => parseExtensions('a b'), 'Unexpected character "b" at index 2: expected "," or ";"', 2);
    assertSyntaxError(() => parseExtensions('a; b=1 2'), 'Unexpected character "2" at index 7: expected "," or ";"', 7);
    assertSyntaxError(() => parseExtensions('a; b="1"x'), 'Unexpected character "x" at index 8: expected "," or ";"', 8);
    assertSyntaxError(() => parseExtensions('a/1'), 'Unexpected character "/" at index 1: expected "," or ";"', 1);
    assertSyntaxError(() => parseExtensions('a; b=1=2'), 'Unexpected character "=" at index 6: expected "," or ";"', 6);
    assertSyntaxError(() => parseExtensions('a; b="1\x002"'), 'Unexpected character "\\u0000" at index 7: invalid character in quoted-string', 7);
  });
});

describe('parseExtensions: limits', () => {
  it('returns up to maxOffers offers of up to maxParams parameters', () => {
    const parsed = parseExtensions('a; x; y, b, c; z=1', { maxOffers: 3, maxParams: 2 });
    assert.deepEqual(parsed.map((o) => [o.name, o.params.length]), [['a', 2], ['b', 0], ['c', 1]]);
  });

  it('throws HeaderLimitError past maxOffers, at the offer that exceeds it', () => {
    assert.throws(() => parseExtensions('a, b, c', { maxOffers: 2 }), (err: unknown) => {
      assert.ok(err instanceof HeaderLimitError);
      assert.equal(err.message, 'more than 2 extension offers');
      assert.equal(err.index, 6);
      assert.equal(err.limit, 2);
      return true;
    });
  });

  it('throws HeaderLimitError past maxParams, naming the extension', () => {
    assert.throws(() => parseExtensions('ok; a, x; a; b="2"; c', { maxParams: 2 }), (err: unknown) => {
      assert.ok(err instanceof HeaderLimitError);
      assert.equal(err.message, 'more than 2 parameters in extension "x"');
      assert.equal(err.index, 20);
      assert.equal(err.limit, 2);
      return true;
    });
  });

  it('stops reading at the limit', () => {
    const value = `x; ${Array.from({ length: 4000 }, (_, i) => `p${i}`).join('; ')}`;
    const { work } = measureWork(() => assert.throws(() => parseExtensions(value, { maxParams: 16 }), HeaderLimitError));
    assert.ok(work.charReads + work.scanned <= 200, `${work.charReads} reads + ${work.scanned} scanned`);
  });
});

describe('formatExtensions', () => {
  it('writes the canonical form', () => {
    assert.equal(
      formatExtensions([
        {
          name: 'permessage-deflate',
          params: [
            { name: 'client_max_window_bits', value: null },
            { name: 'server_max_window_bits', value: '10' },
          ],
        },
        { name: 'x-foo', params: [] },
      ]),
      'permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo',
    );
  });

  it('returns "" for no extensions', () => {
    assert.equal(formatExtensions([]), '');
  });

  it('round-trips through parseExtensions', () => {
    const header = 'a; b=1; b; c, d';
    assert.equal(formatExtensions(parseExtensions(header)), header);
  });

  it('refuses names and values that are not tokens', () => {
    assert.throws(() => formatExtensions([{ name: 'a b', params: [] }]), {
      name: 'TypeError',
      message: 'Invalid extension name: "a b" is not a token',
    });
    assert.throws(() => formatExtensions([{ name: 'a', params: [{ name: 'b', value: 'c d' }] }]), {
      name: 'TypeError',
      message: 'Invalid extension parameter value: "c d" is not a token',
    });
    assert.throws(() => formatExtensions([{ name: 'a', params: [{ name: '', value: null }] }]), {
      name: 'TypeError',
      message: 'Invalid extension parameter name: "" is not a token',
    });
  });
});
