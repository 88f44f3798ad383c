// Test-time TLS material, generated with the system openssl CLI in a private
// temp dir that is removed afterwards. Nothing is checked into the repo.
//
//   const tlsDep = opensslPath();
//   test('wss', { skip: skipReason(tlsDep) }, async () => {
//     const { key, cert, ca } = await createTestCertificate();
//     https.createServer({ key, cert }) ... client with { ca, servername: 'localhost' }
//   });

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { opensslPath, requireDependency } from './system.js';

export interface TestCertificate {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate (leaf). */
  cert: string;
  /** PEM CA certificate that signed `cert`: give it to clients as `ca`. */
  ca: string;
}

export interface CertificateOptions {
  /** Subject CN of the server certificate (default 'localhost'). */
  commonName?: string;
  /** DNS names / IP addresses for subjectAltName (default ['localhost', '127.0.0.1']). */
  altNames?: string[];
}

function openssl(bin: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, timeout: 30_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-tls-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function sanList(altNames: string[]): string {
  return altNames.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** Escapes a value for openssl's -subj ("/CN=..."). */
const subj = (cn: string): string => `/CN=${cn.replace(/[/\\]/g, (c) => `\\${c}`)}`;

/**
 * A throwaway CA (EC P-256, 1 day) and a server certificate it signed for
 * `localhost` + `127.0.0.1` (or `altNames`). Throws MissingDependencyError
 * without openssl (callers should have skipped via skipReason(opensslPath())).
 */
export async function createTestCertificate(opts: CertificateOptions = {}): Promise<TestCertificate> {
  const bin = requireDependency(opensslPath()).path;
  const commonName = opts.commonName ?? 'localhost';
  const altNames = opts.altNames ?? ['localhost', '127.0.0.1'];
  return withTempDir(async (dir) => {
    await openssl(bin, [
      'req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1',
      '-subj', subj('hyperws test CA'),
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
    ], dir);
    await openssl(bin, ['req', '-new', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', subj(commonName)], dir);
    await writeFile(
      join(dir, 'server.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
        ...(altNames.length ? [`subjectAltName=${sanList(altNames)}`] : []),
        '',
      ].join('\n'),
    );
    await openssl(bin, [
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial',
      `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
      '-days', '1', '-sha256', '-extfile', 'server.ext', '-out', 'server.crt',
    ], dir);
    const [key, cert, ca] = await Promise.all(
      ['server.key', 'server.crt', 'ca.crt'].map((f) => readFile(join(dir, f), 'utf8')),
    );
    return { key: key!, cert: cert!, ca: ca! };
  });
}

/**
 * A different, self-signed certificate for localhost/127.0.0.1 that no test CA
 * signed: serve it to check that clients which trust only createTestCertificate()'s
 * `ca` (or the system store) reject the connection. `ca` is the certificate itself.
 */
export async function createUntrustedCertificate(opts: CertificateOptions = {}): Promise<TestCertificate> {
  const bin = requireDependency(opensslPath()).path;
  const commonName = opts.commonName ?? 'localhost';
  const altNames = opts.altNames ?? ['localhost', '127.0.0.1'];
  return withTempDir(async (dir) => {
    await openssl(bin, [
      'req', '-x509', ...EC_KEY, '-keyout', 'self.key', '-out', 'self.crt', '-days', '1',
      '-subj', subj(commonName),
      ...(altNames.length ? ['-addext', `subjectAltName=${sanList(altNames)}`] : []),
    ], dir);
    const [key, cert] = await Promise.all(['self.key', 'self.crt'].map((f) => readFile(join(dir, f), 'utf8')));
    return { key: key!, cert: cert!, ca: cert! };
  });
}

/**
 * `key` and `cert` (PEM) as a PKCS#12 file (openssl pkcs12 -export), encrypted
 * with `passphrase`: what `--pfx` and the `pfx` option of node:tls read.
 */
export async function createPkcs12(key: string, cert: string, passphrase: string): Promise<Buffer> {
  const bin = requireDependency(opensslPath()).path;
  return withTempDir(async (dir) => {
    await writeFile(join(dir, 'key.pem'), key);
    await writeFile(join(dir, 'cert.pem'), cert);
    await writeFile(join(dir, 'pass.txt'), passphrase);
    await openssl(bin, ['pkcs12', '-export', '-inkey', 'key.pem', '-in', 'cert.pem', '-passout', 'file:pass.txt', '-out', 'bundle.p12'], dir);
    return readFile(join(dir, 'bundle.p12'));
  });
}

/** `key` (PEM) encrypted with `passphrase` (AES-256): node:tls needs the passphrase to use it. */
export async function encryptKey(key: string, passphrase: string): Promise<string> {
  const bin = requireDependency(opensslPath()).path;
  return withTempDir(async (dir) => {
    await writeFile(join(dir, 'key.pem'), key);
    await writeFile(join(dir, 'pass.txt'), passphrase);
    await openssl(bin, ['pkey', '-in', 'key.pem', '-aes256', '-passout', 'file:pass.txt', '-out', 'encrypted.pem'], dir);
    return readFile(join(dir, 'encrypted.pem'), 'utf8');
  });
}
