// `hyperws serve --cert/--key` and `--pfx` as a child process: wss:// over
// HTTP/1.1 (and HTTP/2 with --http2 --pfx), the console page over https,
// a plaintext client refused, a client without the CA refused by its own
// verification, and the usage errors for TLS files (exit 2, one line).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from '../../src/index.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createPkcs12, createTestCertificate, createUntrustedCertificate, encryptKey } from '../support/tls.js';
import { openClient, runCli, startServe, type ServeProcess } from './helpers.js';

const T = { timeout: 60_000 };
const skip = skipReason(opensslPath());

/** The test CA (for clients) and the server's files: PEM pair, an encrypted key, a PKCS#12 bundle, a key of another certificate. */
let ca = '';
let dir = '';
const file = (name: string) => join(dir, name);
const PASSPHRASE = 'correct horse';

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'hyperws-serve-tls-'));
  const certificate = await createTestCertificate();
  const other = await createUntrustedCertificate();
  ca = certificate.ca;
  await writeFile(file('cert.pem'), certificate.cert);
  await writeFile(file('key.pem'), certificate.key);
  await writeFile(file('encrypted-key.pem'), await encryptKey(certificate.key, PASSPHRASE));
  await writeFile(file('server.p12'), await createPkcs12(certificate.key, certificate.cert, PASSPHRASE));
  await writeFile(file('other-key.pem'), other.key);
});
after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Text and binary through the echo, exact, then a clean close. */
async function echoes(url: string, options: ConstructorParameters<typeof WebSocket>[2]): Promise<void> {
  const c = await openClient(url, options);
  c.ws.send('héllo');
  assert.deepEqual(await c.next(), { data: Buffer.from('héllo'), isBinary: false });
  const bytes = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x0d, 0x7f]);
  c.ws.send(bytes, { binary: true });
  assert.deepEqual(await c.next(), { data: bytes, isBinary: true });
  c.ws.close(1000);
  assert.deepEqual(await c.closed, { code: 1000, reason: '' });
}

function getPage(port: number): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path: '/', ca }, async (res) => {
      res.setEncoding('utf8');
      let body = '';
      for await (const chunk of res) body += chunk;
      resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body });
    }).on('error', reject);
  });
}

/** Everything the server answers to `request` sent in plaintext, until it closes. */
async function plaintext(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(request);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

const wssLine = (serve: ServeProcess, extra = '') =>
  `hyperws serve: listening on wss://127.0.0.1:${serve.port}/ (echo mode${extra}); console at https://127.0.0.1:${serve.port}/`;

describe('hyperws serve over TLS', { skip }, () => {
  it('--cert/--key: wss:// over HTTP/1.1 echoes exact bytes to a client trusting the CA; the console page over https; a plaintext request is answered 400', T, async () => {
    const serve = await startServe(['--cert', file('cert.pem'), '--key', file('key.pem')]);
    try {
      assert.equal(serve.listening, wssLine(serve));
      await echoes(`wss://127.0.0.1:${serve.port}/`, { ca });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #1 from')), /^hyperws serve: connection #1 from 127\.0\.0\.1:\d+ \(1 connected\)$/);
      const page = await getPage(serve.port);
      assert.equal(page.status, 200);
      assert.equal(page.type, 'text/html; charset=utf-8');
      assert.match(page.body, /<html/i);
      assert.equal(
        await plaintext(serve.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
        'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 45\r\n\r\nThis port speaks TLS: use https:// or wss://\n',
      );
      assert.equal(await serve.stop('SIGINT'), 0);
    } finally {
      await serve.kill();
    }
  });

  it('a client without the CA fails verifying the certificate (our client, and connect with exit 1); with --ca it connects', T, async () => {
    const serve = await startServe(['--cert', file('cert.pem'), '--key', file('key.pem')]);
    try {
      const url = `wss://127.0.0.1:${serve.port}/`;
      const ws = new WebSocket(url);
      const [error] = (await once(ws, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
      assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.deepEqual(await runCli(['connect', url, '-x', 'hi']), {
        status: 1,
        stdout: '',
        stderr: `hyperws connect: TLS error connecting to ${url}: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate (--insecure skips verification)\n`,
      });
      await writeFile(file('ca.pem'), ca);
      assert.deepEqual(await runCli(['connect', url, '--ca', file('ca.pem'), '-x', 'hi']), { status: 0, stdout: '< hi\n', stderr: `connected to ${url}\nclosed: 1000\n` });
    } finally {
      await serve.kill();
    }
  });

  it('--pfx with --passphrase, and an encrypted --key with --passphrase', T, async () => {
    for (const args of [['--pfx', file('server.p12')], ['--cert', file('cert.pem'), '--key', file('encrypted-key.pem')]]) {
      const serve = await startServe([...args, '--passphrase', PASSPHRASE]);
      try {
        assert.equal(serve.listening, wssLine(serve), args.join(' '));
        await echoes(`wss://127.0.0.1:${serve.port}/`, { ca });
        assert.equal(await serve.stop('SIGTERM'), 0);
      } finally {
        await serve.kill();
      }
    }
  });

  it('--http2 --pfx: h2 and HTTP/1.1 WebSockets on one TLS port', T, async () => {
    const serve = await startServe(['--http2', '--pfx', file('server.p12'), '--passphrase', PASSPHRASE]);
    try {
      assert.equal(serve.listening, wssLine(serve, ', HTTP/2 and HTTP/1.1'));
      const url = `wss://127.0.0.1:${serve.port}/`;
      await echoes(url, { ca, http2: true });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #1 from')), / over HTTP\/2 \(1 connected\)$/);
      await echoes(url, { ca });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #2 from')), /^hyperws serve: connection #2 from 127\.0\.0\.1:\d+ \(1 connected\)$/);
      assert.equal(await serve.stop('SIGINT'), 0);
    } finally {
      await serve.kill();
    }
  });

  it('TLS usage errors: exit 2 and one line, the files checked before listening', T, async () => {
    const cases: Array<[string[], string]> = [
      [['--cert', 'c.pem'], "Option '--cert' needs '--key'"],
      [['--key', 'k.pem'], "Option '--key' needs '--cert'"],
      [['--pfx', 's.p12', '--cert', 'c.pem', '--key', 'k.pem'], "Option '--pfx' cannot be used with '--cert' (the PKCS#12 file holds both)"],
      [['--passphrase', 'x'], "Option '--passphrase' only applies with '--key' or '--pfx'"],
      [['--pfx', '/nonexistent/s.p12'], "Option '--pfx': cannot read '/nonexistent/s.p12' (ENOENT)"],
      [['--cert', file('cert.pem'), '--key', dir], `Option '--key': cannot read '${dir}' (EISDIR)`],
      [['--pfx', file('server.p12')], `Option '--pfx': '${file('server.p12')}' is encrypted; give its passphrase with '--passphrase'`],
      [['--pfx', file('server.p12'), '--passphrase', 'wrong'], `Option '--passphrase': wrong passphrase for '${file('server.p12')}'`],
      [['--cert', file('cert.pem'), '--key', file('encrypted-key.pem')], `Option '--key': '${file('encrypted-key.pem')}' is encrypted; give its passphrase with '--passphrase'`],
      [['--cert', file('cert.pem'), '--key', file('encrypted-key.pem'), '--passphrase', 'wrong'], `Option '--passphrase': wrong passphrase for '${file('encrypted-key.pem')}'`],
      [['--cert', file('cert.pem'), '--key', file('other-key.pem')], `Cannot use the '--cert' and '--key' files ('${file('cert.pem')}', '${file('other-key.pem')}'): key values mismatch`],
      [['--cert', file('key.pem'), '--key', file('key.pem')], `Cannot use the '--cert' and '--key' files ('${file('key.pem')}', '${file('key.pem')}'): no start line`],
    ];
    for (const [args, message] of cases) {
      assert.deepEqual(await runCli(['serve', ...args]), { status: 2, stdout: '', stderr: `hyperws serve: ${message} (see 'hyperws serve --help')\n` }, args.join(' '));
    }
  });
});
