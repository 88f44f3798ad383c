// `hyperws` dispatch, help, version, usage errors and the bin launcher.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers.js';

// Other subcommands (chat, bench) join the table: the usage is checked line
// by line around them, with serve and connect exact.
function assertUsage(text: string): void {
  const lines = text.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['Usage: hyperws <command> [options]', '', 'Commands:'], text);
  assert.deepEqual(lines.slice(-5), [
    '',
    'Options:',
    '  -h, --help     show this help (hyperws <command> --help for a command)',
    '  -v, --version  print the version',
    '',
  ], text);
  const commands = lines.slice(3, -5);
  for (const line of commands) assert.match(line, /^ {2}[a-z]+ +\S.*$/, text);
  const width = commands[0]!.search(/\S/) + Math.max(...commands.map((l) => l.trim().split(' ')[0]!.length)) + 2;
  assert.ok(commands.includes(`${'  serve'.padEnd(width)}run a WebSocket echo/broadcast server with a browser console`), text);
  assert.ok(commands.includes(`${'  connect'.padEnd(width)}connect to a WebSocket server; send stdin lines, print messages`), text);
}

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('hyperws', { timeout: 30_000 }, () => {
  it('--help lists the subcommands on stdout and exits 0', async () => {
    const result = await runCli(['--help']);
    assert.deepEqual({ ...result, stdout: '' }, { status: 0, stdout: '', stderr: '' });
    assertUsage(result.stdout);
  });

  it('no arguments: usage on stderr, exit 2', async () => {
    const result = await runCli([]);
    assert.deepEqual({ ...result, stderr: '' }, { status: 2, stdout: '', stderr: '' });
    assertUsage(result.stderr);
    assert.equal(result.stderr, (await runCli(['--help'])).stdout);
  });

  it('unknown subcommand: one-line error then usage on stderr, exit 2', async () => {
    const result = await runCli(['frobnicate']);
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    const [first, ...rest] = result.stderr.split('\n');
    assert.equal(first, "hyperws: unknown command 'frobnicate'");
    assertUsage(rest.join('\n'));
  });

  it('unknown global option: exit 2', async () => {
    const result = await runCli(['--frob']);
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    const [first, ...rest] = result.stderr.split('\n');
    assert.equal(first, "hyperws: unknown option '--frob'");
    assertUsage(rest.join('\n'));
  });

  it('--version and -v print the package.json version', async () => {
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
    assert.deepEqual(await runCli(['--version']), { status: 0, stdout: `${VERSION}\n`, stderr: '' });
    assert.deepEqual(await runCli(['-v']), { status: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  for (const command of ['serve', 'connect']) {
    it(`${command} --help, -h and help ${command} print the same help, exit 0`, async () => {
      const long = await runCli([command, '--help']);
      assert.equal(long.status, 0);
      assert.equal(long.stderr, '');
      assert.ok(long.stdout.startsWith(`Usage: hyperws ${command} `), long.stdout);
      assert.deepEqual(await runCli([command, '-h']), long);
      assert.deepEqual(await runCli(['help', command]), long);
    });

    it(`${command}: unknown option is a one-line error, exit 2`, async () => {
      assert.deepEqual(await runCli([command, '--bogus']), {
        status: 2,
        stdout: '',
        stderr: `hyperws ${command}: Unknown option '--bogus' (see 'hyperws ${command} --help')\n`,
      });
    });
  }

  it('./bin/hyperws runs directly (shebang, executable bit)', { skip: process.platform === 'win32' }, async () => {
    const child = spawn('./bin/hyperws', ['--version'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const [code] = await once(child, 'close');
    assert.equal(code, 0);
    assert.equal(stdout, `${VERSION}\n`);
  });

  it('bin/hyperws without dist/: one-line hint, exit 1', async () => {
    // A copy of bin/ in an empty directory: no ../dist next to it.
    const dir = mkdtempSync(join(tmpdir(), 'hyperws-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(join(ROOT, 'bin/hyperws'), join(dir, 'bin/hyperws'));
      copyFileSync(join(ROOT, 'bin/package.json'), join(dir, 'bin/package.json'));
      const child = spawn(process.execPath, ['bin/hyperws', '--version'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const [code] = await once(child, 'close');
      assert.deepEqual({ code, stdout, stderr }, {
        code: 1,
        stdout: '',
        stderr: 'hyperws: dist/ not built; run npm ci (or npm run build)\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
