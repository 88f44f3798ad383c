// connect-link's status lines: how a failure before the open is described.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure } from '../../src/cli/connect-link.js';

const URL = 'wss://localhost:8443/';

function tlsError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

test('our check of the server certificate failed: the code, the message, the --insecure hint (not with --insecure)', () => {
  const error = tlsError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate');
  assert.equal(describeFailure(error, URL, false), `TLS error connecting to ${URL}: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate (--insecure skips verification)`);
  assert.equal(describeFailure(error, URL, true), `TLS error connecting to ${URL}: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate`);
});

test("the server's alert asking for a client certificate: OpenSSL's reason without its file and line, a --cert hint, no --insecure hint", () => {
  const message = '806C833AF27F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n';
  const error = tlsError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message);
  assert.equal(
    describeFailure(error, URL, false),
    `TLS error connecting to ${URL}: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required (SSL alert number 116) (the server asks for a client certificate: --cert and --key)`,
  );
});

test('another alert (no ALPN protocol in common): its reason, no hint', () => {
  const message = '807C6C17167F0000:error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 120\n';
  const error = tlsError('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', message);
  assert.equal(describeFailure(error, URL, false), `TLS error connecting to ${URL}: ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL: tlsv1 alert no application protocol (SSL alert number 120)`);
});

test("an errno code alone; Node's own codes with their message; an error without a code as a handshake failure", () => {
  assert.equal(describeFailure(tlsError('ERR_HTTP2_ERROR', 'Protocol error'), 'ws://127.0.0.1:8080/', false), 'cannot connect to ws://127.0.0.1:8080/: ERR_HTTP2_ERROR: Protocol error');
  assert.equal(describeFailure(tlsError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'ws://127.0.0.1:1/', false), 'cannot connect to ws://127.0.0.1:1/: ECONNREFUSED');
  assert.equal(describeFailure(new Error('Invalid Sec-WebSocket-Accept header'), URL, false), 'handshake failed: Invalid Sec-WebSocket-Accept header');
});
