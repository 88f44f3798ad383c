// HTTP CONNECT as a sans-I/O handshake: the exact request bytes, and each
// kind of answer fed whole or byte by byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpConnectHandshake, MAX_CONNECT_RESPONSE_HEAD } from '../../../src/node/proxy/http-connect.js';
import { parseProxyUrl } from '../../../src/node/proxy/proxy-url.js';
import type { TunnelStep } from '../../../src/node/proxy/tunnel-handshake.js';

const feed = (h: HttpConnectHandshake, text: string | Buffer, byByte = false): TunnelStep => {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  if (!byByte) return h.receive(bytes);
  let step: TunnelStep = { kind: 'more' };
  for (let i = 0; i < bytes.length; i++) {
    step = h.receive(bytes.subarray(i, i + 1));
    if (step.kind !== 'more') return step;
  }
  return step;
};

test('the request: CONNECT host:port with Host, no credentials', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://127.0.0.1:3128'), 'example.com', 443);
  assert.equal(h.start().toString('latin1'), 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
});

test('the request: Basic credentials from the proxy URL (percent-decoded, UTF-8), IPv6 target in brackets', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://al%40ice:p%C3%A4ss:w@proxy:8080'), '::1', 8080);
  const expected = Buffer.from('al@ice:päss:w', 'utf8').toString('base64');
  assert.equal(h.start().toString('latin1'), `CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\nProxy-Authorization: Basic ${expected}\r\n\r\n`);
});

for (const byByte of [false, true]) {
  const how = byByte ? 'byte by byte' : 'whole';
  test(`200 opens the tunnel; bytes after the head are the target's (${how})`, () => {
    const h = new HttpConnectHandshake(parseProxyUrl('http://p:1'), 'h', 80);
    const step = feed(h, 'HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\nHELLO', byByte);
    assert.equal(step.kind, 'open');
    // Byte by byte, the head ends before the target's bytes arrive.
    if (step.kind === 'open') assert.equal(step.rest.toString(), byByte ? '' : 'HELLO');
  });

  test(`407 fails with ERR_PROXY_AUTH_REQUIRED and the status (${how})`, () => {
    const h = new HttpConnectHandshake(parseProxyUrl('http://p:1'), 'h', 80);
    const step = feed(h, 'HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\n\r\n<html>', byByte);
    assert.equal(step.kind, 'failed');
    if (step.kind !== 'failed') return;
    assert.equal(step.error.code, 'ERR_PROXY_AUTH_REQUIRED');
    assert.equal(step.error.statusCode, 407);
    assert.equal(step.error.proxy, 'http://p:1');
    assert.equal(step.error.message, 'Proxy http://p:1 requires authentication (407 Proxy Authentication Required): give user:pass in the proxy URL');
  });
}

test('407 with credentials says they were rejected, and never shows them', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://alice:secret@p:1'), 'h', 80);
  const step = feed(h, 'HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
  assert.equal(step.kind, 'failed');
  if (step.kind !== 'failed') return;
  assert.equal(step.error.message, 'Proxy http://p:1 requires authentication (407 Proxy Authentication Required): the credentials were rejected');
  assert.doesNotMatch(step.error.message, /secret|alice/);
});

test('401 (tinyproxy\'s answer to wrong credentials) is an authentication failure too', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://alice:guess@p:1'), 'h', 80);
  const step = feed(h, 'HTTP/1.0 401 Unauthorized\r\n\r\n');
  assert.equal(step.kind, 'failed');
  if (step.kind !== 'failed') return;
  assert.equal(step.error.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.equal(step.error.statusCode, 401);
  assert.equal(step.error.message, 'Proxy http://p:1 requires authentication (401 Unauthorized): the credentials were rejected');
});

test('other statuses fail with ERR_PROXY_REFUSED, the status and the reason', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://p:1'), 'example.com', 9);
  const step = feed(h, 'HTTP/1.1 403 Access violation\r\nContent-Type: text/html\r\n\r\n');
  assert.equal(step.kind, 'failed');
  if (step.kind !== 'failed') return;
  assert.equal(step.error.code, 'ERR_PROXY_REFUSED');
  assert.equal(step.error.statusCode, 403);
  assert.equal(step.error.message, 'Proxy http://p:1 refused CONNECT to example.com:9: 403 Access violation');
});

test('a status line that is not HTTP fails with ERR_PROXY_PROTOCOL', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://p:1'), 'h', 80);
  const step = feed(h, 'SSH-2.0-OpenSSH\r\n\r\n');
  assert.equal(step.kind, 'failed');
  if (step.kind === 'failed') assert.equal(step.error.code, 'ERR_PROXY_PROTOCOL');
});

test('a response head that never ends is cut at the bound', () => {
  const h = new HttpConnectHandshake(parseProxyUrl('http://p:1'), 'h', 80);
  assert.equal(feed(h, 'HTTP/1.1 200 OK\r\n').kind, 'more');
  const step = feed(h, Buffer.alloc(MAX_CONNECT_RESPONSE_HEAD, 'a'));
  assert.equal(step.kind, 'failed');
  if (step.kind === 'failed') assert.equal(step.error.code, 'ERR_PROXY_PROTOCOL');
});
