// The benchmark suite: `npm run bench` (node bench/run.mjs [options]).
// hyperws, ws (with bufferutil, its recommended production setup) and a raw
// node:net server (no framing: the runtime's ceiling) each run as their own
// server process; a separate load-generator process drives them. Rounds
// interleave the implementations and rotate their order; the report shows
// medians of per-round ratios and their spread. Results: a table on stdout,
// bench/results/latest.json and bench/results/ratios.svg (not committed).
//
// Options: --rounds N (3), --duration S (5), --only a,b (scenario names),
//          --smoke (tiny sizes and durations: checks the suite runs, for CI;
//          exits 1 if any run reported errors), --out DIR (bench/results).
// See bench/README.md.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { rounds: { type: 'string' }, duration: { type: 'string' }, only: { type: 'string' }, smoke: { type: 'boolean' }, out: { type: 'string' } },
});
const smoke = args.smoke === true;
const rounds = Number(args.rounds ?? (smoke ? 1 : 3));
const durationMs = Math.round(Number(args.duration ?? (smoke ? 0.3 : 5)) * 1000);
const only = args.only ? new Set(args.only.split(',')) : null;
const resultsDir = args.out ? resolve(args.out) : join(here, 'results');

let bufferutil = 'missing';
try {
  await import('bufferutil');
  bufferutil = 'loaded';
} catch {}

// ---------------------------------------------------------------- processes

function startServer(impl, mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', join(here, 'lib/servers.mjs'), impl, mode], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${impl} server exited (${code})`)));
  });
}

function stats(child) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ cmd: 'stats' });
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Run the load generator; `onLine` sees intermediate JSON lines (e.g. "holding"). */
function loadgen(spec, onLine) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'lib/loadgen.mjs'), JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buffer = '';
    let last = null;
    child.stdout.on('data', (d) => {
      buffer += d;
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const parsed = JSON.parse(line);
        last = parsed;
        onLine?.(parsed, child);
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve(last) : reject(new Error(`loadgen exited with ${code}`))));
  });
}

const cpuSeconds = (a, b) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6;

// ---------------------------------------------------------------- scenarios

const S = smoke
  ? { conns: 10, idle: 200, subs: 20, large: [64 * 1024], deflateIdle: 100 }
  : { conns: 100, idle: 10_000, subs: 1000, large: [64 * 1024, 1024 * 1024, 16 * 1024 * 1024], deflateIdle: 2000 };

/** Throughput-style scenario: one server + one loadgen run per implementation. */
function throughput(name, mode, impls, spec, metric, unit) {
  return {
    name,
    impls,
    unit,
    async run(impl) {
      const { child, port } = await startServer(impl, mode);
      try {
        const before = await stats(child);
        const result = await loadgen({ ...spec, impl, url: `ws://127.0.0.1:${port}/` });
        const after = await stats(child);
        const serverCpu = cpuSeconds(before, after);
        const value = metric(result);
        const errors = { ...result.errors };
        if (spec.connections !== undefined && result.opened !== spec.connections) errors['not opened'] = spec.connections - (result.opened ?? 0);
        if (spec.deflate && !/permessage-deflate/.test(result.extensions ?? '')) errors['deflate not negotiated'] = 1;
        return { value, perServerCpuSecond: serverCpu > 0 ? value * (spec.durationMs / 1000) / serverCpu : 0, serverCpu, loadgenCpu: result.loadgenCpuSeconds, errors };
      } finally {
        await stop(child);
      }
    },
  };
}

/** Memory scenario: hold N connections, report growth per connection. */
function memory(name, mode, impls, spec) {
  return {
    name,
    impls,
    unit: 'bytes/conn',
    lowerIsBetter: true,
    async run(impl) {
      const { child, port } = await startServer(impl, mode);
      try {
        const before = await stats(child);
        let after = null;
        await loadgen({ ...spec, impl, scenario: 'hold', url: `ws://127.0.0.1:${port}/` }, async (line, gen) => {
          if (line.holding !== undefined) {
            await new Promise((r) => setTimeout(r, 500));
            after = await stats(child);
            gen.stdin.write('done\n');
          }
        });
        const n = spec.connections;
        return { value: (after.rss - before.rss) / n, heapPerConnection: (after.heapUsed - before.heapUsed) / n, rssPerConnection: (after.rss - before.rss) / n };
      } finally {
        await stop(child);
      }
    },
  };
}

/** CPU seconds a process has used, from /proc (the CLI answers no IPC). */
function procCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
}

/**
 * The echoing client under test, started against the load generator's URL;
 * resolves `ready` once it is connected.
 * - library: the library in one process, S.conns connections (bench/lib/client-echo.mjs).
 * - cli: as people run it from a shell, `hyperws connect --echo URL` (stdout to
 *   /dev/null), one connection, against ws's client library on one connection
 *   (ws has no CLI of its own).
 */
const CLIENTS = {
  library: (impl, url) => spawn(process.execPath, [join(here, 'lib/client-echo.mjs'), impl, url, String(S.conns)], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] }),
  cli: (impl, url) =>
    impl === 'hyperws'
      ? spawn(process.execPath, [join(here, '../bin/hyperws'), 'connect', '--echo', '--no-deflate', url], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(process.execPath, [join(here, 'lib/client-echo.mjs'), 'ws', url, '1'], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] }),
};

function clientSide(name, size, kind) {
  return {
    name,
    impls: ['hyperws', 'ws'],
    unit: 'msg/s',
    async run(impl) {
      let client = null;
      let before = 0;
      let clientCpu = 0;
      try {
        const result = await loadgen({ scenario: 'client-side', size, pipeline: 32, durationMs }, (line, gen) => {
          // The process under test is the client: its CPU time is the "per CPU-s" figure here.
          if (line.measured) clientCpu = procCpuSeconds(client.pid) - before;
          if (line.listening === undefined) return;
          client = CLIENTS[kind](impl, `ws://127.0.0.1:${line.listening}/`);
          // The CLI says "connected to ..." on stderr; client-echo.mjs says READY on stdout.
          (client.stdout ?? client.stderr).once('data', () => {
            before = procCpuSeconds(client.pid);
            gen.stdin.write('go\n');
          });
        });
        const value = result.messagesPerSecond;
        return { value, perServerCpuSecond: clientCpu > 0 ? value * (durationMs / 1000) / clientCpu : 0, serverCpu: clientCpu, loadgenCpu: result.loadgenCpuSeconds, errors: { ...result.errors } };
      } finally {
        if (client) await stop(client);
      }
    },
  };
}

const ALL = ['hyperws', 'ws', 'raw'];
const scenarios = [
  throughput('small-echo', 'echo', ALL, { scenario: 'echo', connections: S.conns, size: 32, pipeline: 1, durationMs }, (r) => r.messagesPerSecond, 'msg/s'),
  throughput('small-echo-pipelined', 'echo', ALL, { scenario: 'echo', connections: S.conns, size: 32, pipeline: 32, durationMs }, (r) => r.messagesPerSecond, 'msg/s'),
  ...S.large.map((size) =>
    throughput(`large-echo-${size >= 1 << 20 ? `${size >> 20}MiB` : `${size >> 10}KiB`}`, 'echo', ALL, { scenario: 'echo', connections: 1, size, binary: true, pipeline: 1, durationMs }, (r) => r.bytesPerSecond / 1e6, 'MB/s'),
  ),
  throughput('handshakes', 'echo', ALL, { scenario: 'handshakes', loops: 50, durationMs }, (r) => r.handshakesPerSecond, 'handshakes/s'),
  memory('idle-memory', 'echo', ALL, { connections: S.idle }),
  throughput('fan-out', 'fanout', ALL, { scenario: 'fanout', subscribers: S.subs, size: 32, window: 32, durationMs }, (r) => r.deliveriesPerSecond, 'deliveries/s'),
  throughput('socketio-fan-out', 'socketio', ['hyperws', 'ws'], { scenario: 'socketio-fanout', subscribers: S.subs, size: 32, window: 32, durationMs }, (r) => r.deliveriesPerSecond, 'deliveries/s'),
  throughput('deflate-echo', 'deflate', ['hyperws', 'ws'], { scenario: 'echo', connections: 10, size: 16 * 1024, pipeline: 1, deflate: true, durationMs }, (r) => r.messagesPerSecond, 'msg/s'),
  memory('deflate-idle-memory', 'deflate', ['hyperws', 'ws'], { connections: S.deflateIdle, deflate: true, message: 4096 }),
  clientSide('client-32B', 32, 'library'),
  clientSide('client-64KiB', 64 * 1024, 'library'),
  clientSide('cli-connect-32B', 32, 'cli'),
  clientSide('cli-connect-64KiB', 64 * 1024, 'cli'),
].filter((s) => !only || only.has(s.name));

// ---------------------------------------------------------------- run

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Errors reported by runs: their figures are not to be trusted. */
const failures = [];
const report = { date: new Date().toISOString(), node: process.version, bufferutil, rounds, durationMs, smoke, failures, scenarios: [] };
console.error(`hyperws benchmark suite: ${rounds} round(s), ${durationMs} ms per run, ws with bufferutil ${bufferutil}`);
for (const scenario of scenarios) {
  const runs = Object.fromEntries(scenario.impls.map((i) => [i, []]));
  for (let round = 0; round < rounds; round++) {
    const order = scenario.impls.map((_, k) => scenario.impls[(k + round) % scenario.impls.length]);
    for (const impl of order) {
      const r = await scenario.run(impl);
      runs[impl].push(r);
      for (const [kind, n] of Object.entries(r.errors ?? {})) {
        failures.push(`${scenario.name} round ${round + 1} ${impl}: ${kind} x${n}`);
      }
      console.error(`  ${scenario.name} round ${round + 1} ${impl}: ${r.value.toFixed(1)} ${scenario.unit}${r.serverCpu !== undefined ? ` (server ${r.serverCpu.toFixed(2)} cpu-s, loadgen ${r.loadgenCpu.toFixed(2)} cpu-s)` : ''}`);
    }
  }
  const ratio = (a, b, key = 'value') => {
    if (!runs[a] || !runs[b]) return null;
    const per = runs[a].map((r, k) => (scenario.lowerIsBetter ? runs[b][k][key] / r[key] : r[key] / runs[b][k][key]));
    return { median: median(per), min: Math.min(...per), max: Math.max(...per) };
  };
  report.scenarios.push({
    name: scenario.name,
    unit: scenario.unit,
    lowerIsBetter: !!scenario.lowerIsBetter,
    medians: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v.map((r) => r.value))])),
    perServerCpuSecond: Object.fromEntries(Object.entries(runs).filter(([, v]) => v[0].perServerCpuSecond !== undefined).map(([k, v]) => [k, median(v.map((r) => r.perServerCpuSecond))])),
    heapPerConnection: scenario.lowerIsBetter ? Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v.map((r) => r.heapPerConnection))])) : undefined,
    // What the WebSocket layer itself costs: RSS per connection above the raw socket's, same round.
    aboveRaw: scenario.lowerIsBetter && runs.raw ? aboveRaw(runs) : undefined,
    ratios: { 'hyperws/ws': ratio('hyperws', 'ws'), 'hyperws/raw': ratio('hyperws', 'raw'), 'ws/raw': ratio('ws', 'raw') },
    // Only where the CPU time of the process under test was measured (the server's; the client's in the client-side scenarios).
    cpuRatios: runs.hyperws?.[0]?.perServerCpuSecond === undefined ? undefined : { 'hyperws/ws': ratio('hyperws', 'ws', 'perServerCpuSecond') },
    runs,
  });
}

/** Per-round RSS above raw for hyperws and ws, their medians, and the median of ws/hyperws (higher is better). */
function aboveRaw(runs) {
  const over = (impl) => runs[impl].map((r, k) => r.rssPerConnection - runs.raw[k].rssPerConnection);
  const h = over('hyperws');
  const w = over('ws');
  const per = h.map((x, k) => w[k] / x);
  return { hyperws: median(h), ws: median(w), ratio: { median: median(per), min: Math.min(...per), max: Math.max(...per) } };
}

// ---------------------------------------------------------------- output

const fmt = (n) => (n === undefined || n === null ? '-' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const fmtRatio = (r) => (r ? `${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}]` : '-');
const rows = [['scenario', 'unit', 'hyperws', 'ws', 'raw', 'hyperws/ws', 'per server CPU-s', 'hyperws/raw', 'ws/raw']];
for (const s of report.scenarios) {
  rows.push([s.name, s.unit, fmt(s.medians.hyperws), fmt(s.medians.ws), fmt(s.medians.raw), fmtRatio(s.ratios['hyperws/ws']), fmtRatio(s.cpuRatios?.['hyperws/ws']), fmtRatio(s.ratios['hyperws/raw']), fmtRatio(s.ratios['ws/raw'])]);
  if (s.aboveRaw) rows.push([`  (RSS above raw)`, 'bytes/conn', fmt(s.aboveRaw.hyperws), fmt(s.aboveRaw.ws), '', fmtRatio(s.aboveRaw.ratio), '', '', '']);
  if (s.heapPerConnection) rows.push([`  (V8 heap)`, 'bytes/conn', fmt(s.heapPerConnection.hyperws), fmt(s.heapPerConnection.ws), fmt(s.heapPerConnection.raw), '', '', '', '']);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
console.log(rows.map((r) => r.map((v, c) => String(v).padEnd(widths[c])).join('  ')).join('\n'));
console.log('Ratios are medians of per-round ratios [min-max]; for memory, ratio = ws/hyperws (higher is better).');

mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(resultsDir, 'ratios.svg'), svgChart(report));
const shown = relative(process.cwd(), resultsDir).startsWith('..') ? resultsDir : relative(process.cwd(), resultsDir) || '.';
console.error(`wrote ${join(shown, 'latest.json')} and ${join(shown, 'ratios.svg')}`);
if (failures.length > 0) {
  console.error(`warning: ${failures.length} run(s) reported errors; their figures are suspect:\n  ${failures.join('\n  ')}`);
  if (smoke) process.exit(1);
}

function svgChart(rep) {
  const items = rep.scenarios.filter((s) => s.ratios['hyperws/ws']).map((s) => ({ name: s.name, r: s.ratios['hyperws/ws'] }));
  const max = Math.max(2, ...items.map((i) => i.r.max));
  const W = 720, bar = 22, left = 190, scale = (W - left - 60) / max;
  const h = items.length * (bar + 8) + 50;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="18" font-weight="bold">hyperws / ws (median of rounds, higher is better)</text>`];
  items.forEach((it, k) => {
    const y = 30 + k * (bar + 8);
    parts.push(`<text x="10" y="${y + 15}">${it.name}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${(it.r.median * scale).toFixed(1)}" height="${bar}" fill="${it.r.median >= 1 ? '#2a7' : '#d54'}"/>`);
    parts.push(`<line x1="${left + it.r.min * scale}" x2="${left + it.r.max * scale}" y1="${y + bar / 2}" y2="${y + bar / 2}" stroke="#000"/>`);
    parts.push(`<text x="${left + it.r.median * scale + 6}" y="${y + 15}">${it.r.median.toFixed(2)}x</text>`);
  });
  parts.push(`<line x1="${left + scale}" x2="${left + scale}" y1="25" y2="${h - 10}" stroke="#888" stroke-dasharray="4"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}
