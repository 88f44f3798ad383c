// The TLS files of the command line (src/cli/tls-files.ts), in process: the
// combinations refused before any file is read, and connect's flavour (no
// --pfx). serve's use of them runs through the process in serve-tls.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/cli/args.js';
import { loadCredentials, readFileOption } from '../../src/cli/tls-files.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate, encryptKey } from '../support/tls.js';

const usage = (message: string) => (error: unknown) => error instanceof UsageError && error.message === message;

describe('loadCredentials', () => {
  it('nothing given: undefined; bad combinations are usage errors before any file is read', () => {
    assert.equal(loadCredentials({}), undefined);
    assert.throws(() => loadCredentials({ cert: '/nonexistent' }), usage("Option '--cert' needs '--key'"));
    assert.throws(() => loadCredentials({ key: '/nonexistent' }), usage("Option '--key' needs '--cert'"));
    assert.throws(() => loadCredentials({ pfx: '/nonexistent', key: '/nonexistent' }), usage("Option '--pfx' cannot be used with '--key' (the PKCS#12 file holds both)"));
    assert.throws(() => loadCredentials({ passphrase: 'p' }), usage("Option '--passphrase' only applies with '--key' or '--pfx'"));
    assert.throws(() => loadCredentials({ passphrase: 'p' }, false), usage("Option '--passphrase' only applies with '--key'"));
    assert.throws(() => readFileOption('ca', '/nonexistent/ca.pem'), usage("Option '--ca': cannot read '/nonexistent/ca.pem' (ENOENT)"));
  });

  it('reads and checks a PEM pair: the buffers as read, the passphrase kept; a wrong one named', { skip: skipReason(opensslPath()) }, async () => {
    const { key, cert } = await createTestCertificate();
    const dir = await mkdtemp(join(tmpdir(), 'hyperws-tls-files-'));
    try {
      await writeFile(join(dir, 'cert.pem'), cert);
      await writeFile(join(dir, 'key.pem'), await encryptKey(key, 'pw'));
      const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
      const loaded = loadCredentials({ ...files, passphrase: 'pw' }, false) as { cert: Buffer; key: Buffer; passphrase: string };
      assert.equal(loaded.cert.toString(), cert);
      assert.match(loaded.key.toString(), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      assert.equal(loaded.passphrase, 'pw');
      assert.throws(() => loadCredentials({ ...files, passphrase: 'nope' }, false), usage(`Option '--passphrase': wrong passphrase for '${files.key}'`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
