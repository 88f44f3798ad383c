/**
 * The fuzz loop over the sans-I/O core (issue #11): each case (inputs.ts) is
 * run whole, then cut at random points (fed at once, or waiting for held
 * input between pieces as a pausing driver does), and, when short, one byte
 * at a time; every run is checked on its own (invariants.ts) and against the
 * whole run. Used by `npm run fuzz` (scripts/fuzz.mjs) and, bounded, by
 * test/protocol/connection-fuzz.test.ts.
 */
import { generateCase, INPUT_KINDS, type FuzzCase, type InputKind } from './inputs.js';
import { realCore, runCase, type CoreFactory, type Outcome } from './core-run.js';
import { checkOutcome, compareOutcomes, describeEvent } from './invariants.js';
import { Rng } from './rng.js';

export interface Finding {
  seed: number;
  index: number;
  kind: InputKind;
  problems: string[];
  /** The case's settings and input, to replay it (`npm run fuzz -- --seed S --replay I`). */
  summary: string;
}

export interface FuzzStats {
  inputs: number;
  /** Runs of the core: whole, split and byte-by-byte. */
  runs: number;
  inputBytes: number;
  byKind: Record<InputKind, number>;
  /** How the whole runs ended ('fail:1002:WS_ERR_...', 'close:1000', 'open', 'eof'), with counts. */
  endings: Map<string, number>;
  /** Cases whose input went through permessage-deflate, and of those, through a non-synchronous decode. */
  deflateCases: number;
  findings: Finding[];
}

export interface FuzzOptions {
  seed: number;
  inputs: number;
  /** First index (default 0): a long run can be resumed or sharded. */
  from?: number;
  /** Stop after this many findings (default 20). */
  maxFindings?: number;
  core?: CoreFactory;
  /** Called with each finding as it is found. */
  onFinding?: (finding: Finding) => void;
  /** Called every `progressEvery` inputs. */
  onProgress?: (stats: FuzzStats, done: number) => void;
  progressEvery?: number;
  /**
   * Cases in flight at once (default 4): while one waits for zlib in the
   * thread pool, others run. Each case has its own connections, so they do
   * not interact; results do not depend on it.
   */
  concurrency?: number;
}

/** Inputs up to this size are also fed one byte at a time (each byte its own receiveData). */
const BYTEWISE_MAX = 256;

export function newStats(): FuzzStats {
  const byKind = Object.fromEntries(INPUT_KINDS.map((k) => [k, 0])) as Record<InputKind, number>;
  return { inputs: 0, runs: 0, inputBytes: 0, byKind, endings: new Map(), deflateCases: 0, findings: [] };
}

/** Run one case in all its splits; returns the problems found (empty: all invariants hold). */
export async function checkCase(c: FuzzCase, core: CoreFactory = realCore, stats?: FuzzStats): Promise<string[]> {
  const rng = new Rng(c.seed ^ 0x5bd1e995, c.index);
  const whole = await runCase(c, [], false, core);
  const problems = checkOutcome(c, whole);
  let runs = 1;
  const variant = async (label: string, cuts: number[], settleBetween: boolean): Promise<void> => {
    const o = await runCase(c, cuts, settleBetween, core);
    runs++;
    for (const p of checkOutcome(c, o)) problems.push(`${label}: ${p}`);
    problems.push(...compareOutcomes(whole, o, label));
  };
  const n = c.input.length;
  if (n > 1) {
    const count = rng.range(1, Math.min(n - 1, 12));
    const cuts: number[] = [];
    for (let i = 0; i < count; i++) cuts.push(rng.range(1, n - 1));
    cuts.sort((a, b) => a - b);
    const settleBetween = c.deflate !== null && rng.chance(0.5);
    await variant(`split at ${cuts.join(',')}${settleBetween ? ' (settling)' : ''}`, cuts, settleBetween);
    if (n <= BYTEWISE_MAX && (n <= 32 || rng.chance(0.25))) {
      await variant('byte by byte', Array.from({ length: n - 1 }, (_, i) => i + 1), c.deflate !== null && rng.chance(0.5));
    }
  }
  if (stats !== undefined) {
    stats.runs += runs;
    stats.inputBytes += n;
    stats.byKind[c.kind]++;
    if (c.deflate !== null) stats.deflateCases++;
    const key = ending(whole);
    stats.endings.set(key, (stats.endings.get(key) ?? 0) + 1);
  }
  return [...new Set(problems)];
}

function ending(o: Outcome): string {
  const last = o.events.at(-1);
  if (last?.type === 'close' && last.code >= 3000) return 'close:3000-4999';
  if (last?.type === 'close' || last?.type === 'fail') return describeEvent(last);
  return o.cause === 3 ? 'eof' : 'open';
}

export function summarize(c: FuzzCase): string {
  const d = c.deflate;
  const deflate = d === null ? 'none' : `inflateTakeover=${d.inflateTakeover} deflateTakeover=${d.deflateTakeover} peerBits=${d.peerWindowBits} ownBits=${d.ownWindowBits} threshold=${d.threshold}`;
  const hex = c.input.length <= 4096 ? c.input.toString('hex') : `${c.input.subarray(0, 4096).toString('hex')}... (${c.input.length} bytes)`;
  return (
    `seed=${c.seed} index=${c.index} kind=${c.kind} role=${c.role} maxPayload=${c.maxPayload} skipUTF8=${c.skipUTF8Validation} ` +
    `fragments=${c.deliverFragments} echo=${c.echo} eof=${c.eof} closeFirst=${c.closeFirst} deflate: ${deflate}\ninput (${c.input.length} bytes): ${hex}`
  );
}

export async function fuzz(options: FuzzOptions): Promise<FuzzStats> {
  const stats = newStats();
  const from = options.from ?? 0;
  const maxFindings = options.maxFindings ?? 20;
  const every = options.progressEvery ?? 100_000;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < options.inputs && stats.findings.length < maxFindings) {
      const c = generateCase(options.seed, from + next++);
      stats.inputs++;
      const problems = await checkCase(c, options.core, stats);
      if (problems.length > 0 && stats.findings.length < maxFindings) {
        const finding: Finding = { seed: c.seed, index: c.index, kind: c.kind, problems, summary: summarize(c) };
        stats.findings.push(finding);
        options.onFinding?.(finding);
      }
      if (++done % every === 0) options.onProgress?.(stats, done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  stats.findings.sort((a, b) => a.index - b.index);
  return stats;
}
