import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate, createUntrustedCertificate } from '../support/tls.js';

const openssl = opensslPath();

async function tlsRoundTrip(serverCreds: { key: string; cert: string }, clientOpts: { ca?: string; host: string; servername: string }): Promise<string> {
  const server = createServer(serverCreds, (socket) => {
    socket.on('error', () => {});
    socket.end('hi over tls');
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let socket: TLSSocket | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      socket = connect({ port, host: clientOpts.host, servername: clientOpts.servername, ...(clientOpts.ca ? { ca: clientOpts.ca } : {}) });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
  } finally {
    socket?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('createTestCertificate: a cert node:tls accepts with ca, for localhost and 127.0.0.1', { skip: skipReason(openssl), timeout: 60_000 }, async () => {
  const { key, cert, ca } = await createTestCertificate();
  assert.match(key, /-----BEGIN (EC |)PRIVATE KEY-----/);
  const x509 = new X509Certificate(cert);
  const caX509 = new X509Certificate(ca);
  assert.ok(x509.verify(caX509.publicKey), 'signed by the CA');
  assert.ok(caX509.ca, 'CA has CA:TRUE');
  assert.equal(x509.ca, false);
  assert.ok(x509.checkHost('localhost'));
  assert.ok(x509.checkIP('127.0.0.1'));
  assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
  assert.equal(await tlsRoundTrip({ key, cert }, { ca, host: '127.0.0.1', servername: 'localhost' }), 'hi over tls');
  // Without the CA the chain is untrusted.
  await assert.rejects(tlsRoundTrip({ key, cert }, { host: '127.0.0.1', servername: 'localhost' }), (err: NodeJS.ErrnoException) => {
    assert.match(String(err.code), /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED|UNABLE_TO_VERIFY/);
    return true;
  });
});

test('createTestCertificate honours commonName/altNames; each call is a fresh CA', { skip: skipReason(openssl), timeout: 60_000 }, async () => {
  const a = await createTestCertificate({ commonName: 'example.test', altNames: ['example.test', '::1'] });
  const b = await createTestCertificate();
  const x = new X509Certificate(a.cert);
  assert.match(x.subject, /CN=example.test/);
  assert.ok(x.checkHost('example.test'));
  assert.ok(x.checkIP('::1'));
  assert.equal(x.checkHost('localhost'), undefined);
  assert.notEqual(a.ca, b.ca);
});

test('createUntrustedCertificate: rejected by a client that trusts the test CA', { skip: skipReason(openssl), timeout: 60_000 }, async () => {
  const trusted = await createTestCertificate();
  const untrusted = await createUntrustedCertificate();
  const x = new X509Certificate(untrusted.cert);
  assert.ok(x.checkHost('localhost'));
  assert.ok(x.verify(x.publicKey), 'self-signed');
  await assert.rejects(
    tlsRoundTrip({ key: untrusted.key, cert: untrusted.cert }, { ca: trusted.ca, host: '127.0.0.1', servername: 'localhost' }),
    (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
      return true;
    },
  );
  // Trusting the self-signed cert itself works.
  assert.equal(await tlsRoundTrip(untrusted, { ca: untrusted.ca, host: 'localhost', servername: 'localhost' }), 'hi over tls');
});
