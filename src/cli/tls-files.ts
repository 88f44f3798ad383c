/**
 * The TLS files of the command line, read once at start: `serve`'s server
 * credentials (--cert/--key or --pfx, with --passphrase) and `connect`'s CA
 * and client certificate. Every problem with them (a file that cannot be
 * read, a key that does not match, a wrong or missing passphrase) becomes a
 * one-line UsageError before anything listens or connects, instead of a TLS
 * error on the first connection. Owns no sockets: it only reads files and
 * asks node:tls whether they make a secure context.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { UsageError, printable } from './args.js';

/** Our check of the server's certificate failed. */
const SERVER_CERT_REJECTED = /CERT|UNABLE_TO_|VERIFY/;
/** The server's TLS alert about our side (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED...). */
const PEER_ALERT = /^ERR_SSL_.*ALERT/;

/** Whether --insecure (skipping the server certificate check) could cure the error with this code: not a server's alert about us. */
export function insecureWouldHelp(code: string): boolean {
  return SERVER_CERT_REJECTED.test(code) && !PEER_ALERT.test(code);
}

/** Whether this code is the server's alert that it wants a client certificate (--cert and --key). */
export function clientCertificateRequired(code: string): boolean {
  return PEER_ALERT.test(code) && /CERTIFICATE_REQUIRED/.test(code);
}

/** A certificate with its key (PEM), or a PKCS#12 bundle; passphrase for whichever is encrypted. */
export type TlsCredentials =
  | { cert: Buffer; key: Buffer; passphrase?: string }
  | { pfx: Buffer; passphrase?: string };

/** The file an option names, read whole; a failure names the option and the file. */
export function readFileOption(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`Option '--${option}': cannot read '${printable(file)}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export interface CredentialOptions {
  cert?: string | undefined;
  key?: string | undefined;
  pfx?: string | undefined;
  passphrase?: string | undefined;
}

/**
 * --cert FILE --key FILE, or --pfx FILE, with an optional --passphrase:
 * read and checked; undefined when none is given. `pfx` false: the command
 * has no --pfx option.
 */
export function loadCredentials(v: CredentialOptions, pfx = true): TlsCredentials | undefined {
  if (v.pfx !== undefined && (v.cert !== undefined || v.key !== undefined)) {
    throw new UsageError(`Option '--pfx' cannot be used with '${v.cert !== undefined ? '--cert' : '--key'}' (the PKCS#12 file holds both)`);
  }
  if ((v.cert === undefined) !== (v.key === undefined)) {
    throw new UsageError(v.cert === undefined ? "Option '--key' needs '--cert'" : "Option '--cert' needs '--key'");
  }
  const passphrase = v.passphrase !== undefined ? { passphrase: v.passphrase } : {};
  let credentials: TlsCredentials;
  if (v.pfx !== undefined) credentials = { pfx: readFileOption('pfx', v.pfx), ...passphrase };
  else if (v.cert !== undefined && v.key !== undefined) credentials = { cert: readFileOption('cert', v.cert), key: readFileOption('key', v.key), ...passphrase };
  else {
    if (v.passphrase !== undefined) throw new UsageError(`Option '--passphrase' only applies with '--key'${pfx ? " or '--pfx'" : ''}`);
    return undefined;
  }
  checkCredentials(credentials, v);
  return credentials;
}

/** node:tls's verdict on the credentials, as a usage error that says which option to fix. */
function checkCredentials(credentials: TlsCredentials, v: CredentialOptions): void {
  try {
    createSecureContext(credentials);
  } catch (error) {
    const e = error as Error & { reason?: string };
    const reason = e.reason ?? e.message;
    const [option, file] = 'pfx' in credentials ? ['pfx', v.pfx!] : ['key', v.key!];
    // OpenSSL says "bad decrypt" for a PEM key and "mac verify failure" for a PKCS#12 file.
    if (reason === 'bad decrypt' || reason === 'mac verify failure') {
      throw new UsageError(v.passphrase === undefined
        ? `Option '--${option}': '${printable(file)}' is encrypted; give its passphrase with '--passphrase'`
        : `Option '--passphrase': wrong passphrase for '${printable(file)}'`);
    }
    const what = 'pfx' in credentials ? `'--pfx' file '${printable(v.pfx!)}'` : `'--cert' and '--key' files ('${printable(v.cert!)}', '${printable(v.key!)}')`;
    throw new UsageError(`Cannot use the ${what}: ${printable(reason)}`);
  }
}
