// The benchmark suite (bench/run.mjs) in --smoke mode: tiny sizes, one round
// of 300 ms per implementation. Checks that every process starts, talks and
// stops, and that the report has its shape; no figure is judged. Needs dist/
// (built by `npm test`'s pretest). Writes to a temporary --out directory so
// that bench/results/ keeps the last real run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from build/test/bench/). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const ALL = ['hyperws', 'ws', 'raw'];
const TWO = ['hyperws', 'ws'];
/**
 * Scenario -> implementations run, in the order run.mjs lists them: one of each
 * kind, plus those whose code paths the others do not cover (a held deflate
 * connection that exchanged a message; 64-bit frame lengths sent to clients;
 * socket.io's broadcast through engine.io's pre-encoded frames).
 */
const EXPECTED: Array<[string, string[]]> = [
  ['small-echo', ALL],
  ['handshakes', ALL],
  ['idle-memory', ALL],
  ['fan-out', ALL],
  ['socketio-fan-out', TWO],
  ['deflate-echo', TWO],
  ['deflate-idle-memory', TWO],
  ['client-32B', TWO],
  ['client-64KiB', TWO],
];

interface Ratio {
  median: number;
  min: number;
  max: number;
}

interface ScenarioReport {
  name: string;
  unit: string;
  lowerIsBetter: boolean;
  medians: Record<string, number>;
  perServerCpuSecond: Record<string, number>;
  heapPerConnection?: Record<string, number>;
  aboveRaw?: { hyperws: number; ws: number; ratio: Ratio };
  ratios: Record<string, Ratio | null>;
  cpuRatios?: Record<string, Ratio>;
  runs: Record<string, Array<Record<string, unknown>>>;
}

interface Report {
  node: string;
  rounds: number;
  durationMs: number;
  smoke: boolean;
  failures: string[];
  scenarios: ScenarioReport[];
}

/**
 * Memory growth over a few hundred connections is within the noise of a
 * GC in smoke mode and may even be negative: for memory scenarios only the
 * shape of the report is checked, not the sign of its numbers.
 */
function assertRatio(r: Ratio | null | undefined, what: string, memory = false): void {
  assert.ok(r, `${what}: missing`);
  for (const key of ['median', 'min', 'max'] as const) {
    assert.ok(Number.isFinite(r[key]) && (memory || r[key] > 0), `${what}.${key} = ${r[key]}`);
  }
  assert.ok(r.min <= r.median && r.median <= r.max, `${what}: ${JSON.stringify(r)}`);
}

describe('bench/run.mjs --smoke', () => {
  it('runs the core scenarios and writes latest.json (medians, ratios) and ratios.svg', { timeout: 180_000 }, async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'hyperws-bench-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['bench/run.mjs', '--smoke', '--only', EXPECTED.map(([name]) => name).join(','), '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0, `exit ${code}\n${stderr}`);

    const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Report;
    assert.equal(report.smoke, true);
    assert.equal(report.rounds, 1);
    assert.equal(report.durationMs, 300);
    assert.equal(report.node, process.version);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.scenarios.map((s) => s.name), EXPECTED.map(([name]) => name));

    for (const [name, impls] of EXPECTED) {
      const s = report.scenarios.find((x) => x.name === name)!;
      assert.deepEqual(Object.keys(s.medians), impls, name);
      assert.deepEqual(Object.keys(s.runs), impls, name);
      for (const impl of impls) {
        assert.ok(Number.isFinite(s.medians[impl]) && (s.lowerIsBetter || s.medians[impl]! > 0), `${name} ${impl} median ${s.medians[impl]}`);
        assert.equal(s.runs[impl]!.length, 1, `${name} ${impl}: one run per round`);
      }
      assertRatio(s.ratios['hyperws/ws'], `${name} hyperws/ws`, s.lowerIsBetter);
      if (impls.includes('raw')) {
        assertRatio(s.ratios['hyperws/raw'], `${name} hyperws/raw`, s.lowerIsBetter);
        assertRatio(s.ratios['ws/raw'], `${name} ws/raw`, s.lowerIsBetter);
      } else {
        assert.equal(s.ratios['hyperws/raw'], null, name);
        assert.equal(s.ratios['ws/raw'], null, name);
      }
    }

    // Server-side scenarios are normalised per server CPU-second; memory and client-side ones are not.
    for (const name of ['small-echo', 'handshakes', 'fan-out', 'socketio-fan-out', 'deflate-echo']) {
      const s = report.scenarios.find((x) => x.name === name)!;
      assert.equal(s.lowerIsBetter, false, name);
      assertRatio(s.cpuRatios?.['hyperws/ws'], `${name} cpuRatios`);
      for (const impl of Object.keys(s.medians)) {
        assert.ok(s.perServerCpuSecond[impl]! > 0, `${name} ${impl} perServerCpuSecond`);
        const run = s.runs[impl]![0]!;
        assert.ok((run.serverCpu as number) > 0 && (run.loadgenCpu as number) > 0, `${name} ${impl} cpu`);
        assert.deepEqual(run.errors, {}, `${name} ${impl} errors`);
      }
    }
    for (const [name, impls] of [['idle-memory', ALL], ['deflate-idle-memory', TWO]] as const) {
      const memory = report.scenarios.find((x) => x.name === name)!;
      assert.equal(memory.unit, 'bytes/conn', name);
      assert.equal(memory.lowerIsBetter, true, name);
      assert.equal(memory.cpuRatios, undefined, name);
      assert.deepEqual(Object.keys(memory.heapPerConnection ?? {}), impls, name);
      if (impls === ALL) {
        // RSS above the raw socket's, round by round: the same runs, differently combined.
        const runs = memory.runs;
        const over = (impl: string): number => (runs[impl]![0]!.rssPerConnection as number) - (runs.raw![0]!.rssPerConnection as number);
        assert.equal(memory.aboveRaw?.hyperws, over('hyperws'), name);
        assert.equal(memory.aboveRaw?.ws, over('ws'), name);
        assert.equal(memory.aboveRaw?.ratio.median, over('ws') / over('hyperws'), name);
      } else {
        assert.equal(memory.aboveRaw, undefined, name);
      }
    }
    for (const name of ['client-32B', 'client-64KiB']) {
      // The process under test is the client: its CPU time makes the per-CPU figures.
      const client = report.scenarios.find((x) => x.name === name)!;
      assert.equal(client.unit, 'msg/s', name);
      assert.ok(client.cpuRatios?.['hyperws/ws']!.median! > 0, name);
      assert.deepEqual(Object.keys(client.perServerCpuSecond), TWO, name);
      for (const impl of TWO) assert.ok((client.runs[impl]![0]!.serverCpu as number) > 0, `${name} ${impl} client cpu`);
    }

    // The table on stdout: a header and one row per scenario, no NaN anywhere.
    const rows = stdout.split('\n');
    assert.match(rows[0]!, /^scenario\s+unit\s+hyperws\s+ws\s+raw\s+hyperws\/ws\s+per server CPU-s\s+hyperws\/raw\s+ws\/raw\s*$/);
    for (const [name] of EXPECTED) assert.ok(rows.some((row) => row.startsWith(`${name} `)), `no row for ${name}`);
    assert.doesNotMatch(stdout, /NaN|undefined/);

    const svg = readFileSync(join(out, 'ratios.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>$/);
    for (const [name] of EXPECTED) assert.ok(svg.includes(`>${name}</text>`), `no bar for ${name}`);
  });
});
