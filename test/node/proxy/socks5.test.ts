// SOCKS5 (RFC 1928/1929) as a sans-I/O handshake: exact bytes each way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeConnectRequest, encodeCredentials, ipv6Bytes, Socks5Handshake } from '../../../src/node/proxy/socks5.js';
import { parseProxyUrl } from '../../../src/node/proxy/proxy-url.js';

const hex = (b: Buffer): string => b.toString('hex');

test('a host name goes to the proxy as a name (ATYP 3): the proxy resolves it', () => {
  assert.equal(hex(encodeConnectRequest('example.com', 443)), '05010003' + '0b' + Buffer.from('example.com').toString('hex') + '01bb');
});

test('IPv4 and IPv6 addresses go as addresses (ATYP 1, 4)', () => {
  assert.equal(hex(encodeConnectRequest('127.0.0.1', 8080)), '05010001' + '7f000001' + '1f90');
  assert.equal(hex(encodeConnectRequest('::1', 80)), '05010004' + '00'.repeat(15) + '01' + '0050');
  assert.deepEqual(ipv6Bytes('2001:db8::8:800:200c:417a'), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0x20, 0x0c, 0x41, 0x7a]);
  assert.deepEqual(ipv6Bytes('::ffff:10.1.2.3'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]);
  assert.deepEqual(ipv6Bytes('fe80:1:2:3:4:5:6:7'), [0xfe, 0x80, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7]);
});

test('credentials: VER 1, ULEN, UNAME, PLEN, PASSWD; over 255 bytes is a RangeError', () => {
  assert.equal(hex(encodeCredentials('bob', 'pw')), '0103' + Buffer.from('bob').toString('hex') + '02' + Buffer.from('pw').toString('hex'));
  assert.throws(() => encodeCredentials('x'.repeat(256), ''), RangeError);
  assert.throws(() => encodeConnectRequest('a'.repeat(256), 1), RangeError);
});

test('no credentials: offer method 0 only; method 0 chosen -> CONNECT; success reply -> open', () => {
  const h = new Socks5Handshake(parseProxyUrl('socks5://p:1080'), 'example.com', 80);
  assert.equal(hex(h.start()), '050100');
  const step = h.receive(Buffer.from('0500', 'hex'));
  assert.equal(step.kind, 'send');
  if (step.kind === 'send') assert.equal(hex(step.bytes), hex(encodeConnectRequest('example.com', 80)));
  // The reply (bound address 10.0.0.1:4242) in two pieces, then bytes for the target.
  assert.equal(h.receive(Buffer.from('050000', 'hex')).kind, 'more');
  const open = h.receive(Buffer.from('010a000001109248', 'hex'));
  assert.equal(open.kind, 'open');
  if (open.kind === 'open') assert.equal(open.rest.toString(), 'H');
});

test('credentials: offer methods 0 and 2; method 2 -> username/password, then CONNECT', () => {
  const h = new Socks5Handshake(parseProxyUrl('socks5://bob:pw@p:1080'), '10.0.0.2', 80);
  assert.equal(hex(h.start()), '05020002');
  const auth = h.receive(Buffer.from('0502', 'hex'));
  assert.equal(auth.kind, 'send');
  if (auth.kind === 'send') assert.equal(hex(auth.bytes), hex(encodeCredentials('bob', 'pw')));
  const connect = h.receive(Buffer.from('0100', 'hex'));
  assert.equal(connect.kind, 'send');
  if (connect.kind === 'send') assert.equal(hex(connect.bytes), '050100010a0000020050');
  // A reply with a domain-name bound address (ATYP 3).
  const open = h.receive(Buffer.from('05000003' + '03616263' + '0050', 'hex'));
  assert.equal(open.kind, 'open');
});

test('rejected credentials -> ERR_PROXY_AUTH_REQUIRED', () => {
  const h = new Socks5Handshake(parseProxyUrl('socks5://bob:bad@p:1080'), 'h', 80);
  h.start();
  h.receive(Buffer.from('0502', 'hex'));
  const step = h.receive(Buffer.from('0101', 'hex'));
  assert.equal(step.kind, 'failed');
  if (step.kind !== 'failed') return;
  assert.equal(step.error.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.equal(step.error.message, 'Proxy socks5://p:1080 rejected the username/password (status 1)');
});

test('no acceptable method (0xFF) without credentials -> ERR_PROXY_AUTH_REQUIRED', () => {
  const h = new Socks5Handshake(parseProxyUrl('socks5://p:1080'), 'h', 80);
  h.start();
  const step = h.receive(Buffer.from('05ff', 'hex'));
  assert.equal(step.kind, 'failed');
  if (step.kind !== 'failed') return;
  assert.equal(step.error.code, 'ERR_PROXY_AUTH_REQUIRED');
  assert.equal(step.error.message, 'Proxy socks5://p:1080 requires authentication: give user:pass in the proxy URL');
});

test('each failure reply code is named, with ERR_PROXY_SOCKS_FAILURE and socksReply', () => {
  const names = ['general SOCKS server failure', 'connection not allowed by ruleset', 'network unreachable', 'host unreachable', 'connection refused', 'TTL expired', 'command not supported', 'address type not supported'];
  names.forEach((name, i) => {
    const h = new Socks5Handshake(parseProxyUrl('socks5://p:1080'), 'example.com', 80);
    h.start();
    h.receive(Buffer.from('0500', 'hex'));
    const step = h.receive(Buffer.from([5, i + 1, 0, 1, 0, 0, 0, 0, 0, 0]));
    assert.equal(step.kind, 'failed');
    if (step.kind !== 'failed') return;
    assert.equal(step.error.code, 'ERR_PROXY_SOCKS_FAILURE');
    assert.equal(step.error.socksReply, i + 1);
    assert.equal(step.error.message, `Proxy socks5://p:1080 failed SOCKS5 CONNECT to example.com:80: ${name} (reply ${i + 1})`);
  });
});

test('not a SOCKS5 proxy (an HTTP answer) -> ERR_PROXY_PROTOCOL', () => {
  const h = new Socks5Handshake(parseProxyUrl('socks5://p:1080'), 'h', 80);
  h.start();
  const step = h.receive(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  assert.equal(step.kind, 'failed');
  if (step.kind === 'failed') assert.equal(step.error.code, 'ERR_PROXY_PROTOCOL');
});
