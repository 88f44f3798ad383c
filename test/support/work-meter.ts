// A clock-free measure of the work a synchronous call does, for tests that
// pin an algorithm's cost (e.g. "parsing a header is linear in its length").
//
// It wraps, for the duration of one call, the builtins through which parsing
// code can hide superlinear cost, and counts:
//   - `scanned`: for each call of a builtin that may walk its whole receiver
//     (Array#indexOf/includes/find/some..., String#indexOf/split/
//     toLowerCase...), the receiver's length: what that call may cost; for a
//     copy of part of it (slice, substring), the copy's length. A linear
//     search inside a loop over the same list shows up as n * n.
//   - `charReads`: one per String#charCodeAt/codePointAt/charAt call, the way
//     a hand-written scanner reads characters.
//   - `regexInputs`: the length of every input a regular expression ran on.
//     A backtracking pattern can cost the square of that (or worse), which no
//     weight can express: tests assert the inputs stay short instead.
//
// What it cannot see: plain `s[i]` indexing and hand-written loops that read
// through it. The code under test reads characters with charCodeAt.
// Prototypes are restored before measureWork returns or throws.

export interface Work {
  scanned: number;
  charReads: number;
  regexInputs: number[];
}

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

const LINEAR_ARRAY_METHODS = [
  'indexOf', 'lastIndexOf', 'includes', 'find', 'findIndex', 'findLast', 'findLastIndex',
  'some', 'every', 'filter', 'map', 'forEach', 'reduce', 'join', 'splice',
] as const;
const LINEAR_STRING_METHODS = [
  'indexOf', 'lastIndexOf', 'includes', 'startsWith', 'endsWith', 'split', 'toLowerCase', 'toUpperCase',
  'trim', 'trimStart', 'trimEnd', 'replace', 'replaceAll', 'match', 'search',
] as const;
const COPY_METHODS = ['slice', 'substring', 'substr'] as const;
const CHAR_READ_METHODS = ['charCodeAt', 'codePointAt', 'charAt'] as const;
const REGEX_METHODS = ['exec', 'test', Symbol.replace, Symbol.split, Symbol.match, Symbol.matchAll, Symbol.search] as const;

/** Runs `fn` once with the builtins above counted; returns its result and the counts. */
export function measureWork<T>(fn: () => T): { result: T; work: Work } {
  const work: Work = { scanned: 0, charReads: 0, regexInputs: [] };
  const restore: Array<() => void> = [];
  const wrap = (proto: object, key: string | symbol, count: (self: unknown, args: unknown[], result: unknown) => void): void => {
    const original = (proto as Record<string | symbol, AnyFn>)[key]!;
    const descriptor = Object.getOwnPropertyDescriptor(proto, key)!;
    Object.defineProperty(proto, key, {
      ...descriptor,
      value: function (this: unknown, ...args: unknown[]) {
        const result = Reflect.apply(original, this, args);
        count(this, args, result);
        return result;
      },
    });
    restore.push(() => Object.defineProperty(proto, key, descriptor));
  };
  const lengthOf = (self: unknown): number => (self as { length?: number } | null)?.length ?? 0;
  for (const name of LINEAR_ARRAY_METHODS) wrap(Array.prototype, name, (self) => (work.scanned += lengthOf(self)));
  for (const name of LINEAR_STRING_METHODS) wrap(String.prototype, name, (self) => (work.scanned += String(self).length));
  const countCopy = (_self: unknown, _args: unknown[], copy: unknown): number => (work.scanned += lengthOf(copy));
  wrap(Array.prototype, 'slice', countCopy);
  for (const name of COPY_METHODS) wrap(String.prototype, name, countCopy);
  for (const name of CHAR_READ_METHODS) wrap(String.prototype, name, () => work.charReads++);
  for (const key of REGEX_METHODS) {
    wrap(RegExp.prototype, key, (_self, args) => work.regexInputs.push(String(args[0]).length));
  }
  try {
    return { result: fn(), work };
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}
