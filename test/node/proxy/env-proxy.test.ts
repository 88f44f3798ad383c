// proxy: 'env': which variable applies to which URL, and the NO_PROXY rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassesProxy, proxyFromEnvironment } from '../../../src/node/proxy/env-proxy.js';

const at = (url: string, env: Record<string, string>): string | null => proxyFromEnvironment(new URL(url), env);

test('wss: reads https_proxy, ws: reads http_proxy; both fall back to all_proxy', () => {
  const env = { HTTPS_PROXY: 'http://s:1', HTTP_PROXY: 'http://p:1', ALL_PROXY: 'socks5://a:1' };
  assert.equal(at('wss://example.com/', env), 'http://s:1');
  assert.equal(at('ws://example.com/', env), 'http://p:1');
  assert.equal(at('ws://example.com/', { ALL_PROXY: 'socks5://a:1' }), 'socks5://a:1');
  assert.equal(at('wss://example.com/', { HTTP_PROXY: 'http://p:1' }), null);
  assert.equal(at('ws+unix:///tmp/s.sock', env), null);
});

test('lower case wins over upper case; an empty value is unset', () => {
  assert.equal(at('ws://h/', { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:1' }), 'http://lower:1');
  assert.equal(at('ws://h/', { http_proxy: '', HTTP_PROXY: 'http://upper:1' }), 'http://upper:1');
  assert.equal(at('ws://h/', { http_proxy: '', all_proxy: 'http://all:1' }), 'http://all:1');
});

test('no_proxy/NO_PROXY take the host and default port of the URL', () => {
  assert.equal(at('ws://internal.example.com/', { HTTP_PROXY: 'http://p:1', NO_PROXY: 'example.com' }), null);
  assert.equal(at('wss://h:443/', { HTTPS_PROXY: 'http://p:1', no_proxy: 'h:443' }), null);
  assert.equal(at('ws://h/', { HTTP_PROXY: 'http://p:1', no_proxy: 'h:443' }), 'http://p:1');
  assert.equal(at('ws://[::1]:8080/', { HTTP_PROXY: 'http://p:1', no_proxy: '[::1]:8080' }), null);
});

const cases: Array<[host: string, port: number, noProxy: string, bypass: boolean]> = [
  ['anything.at.all', 80, '*', true],
  ['example.com', 80, 'example.com', true],
  ['api.example.com', 80, 'example.com', true],
  ['badexample.com', 80, 'example.com', false],
  ['api.example.com', 80, '.example.com', true],
  ['example.com', 80, '.example.com', true],
  ['api.example.com', 80, '*.example.com', true],
  ['API.Example.COM.', 80, 'example.com', true],
  ['example.com', 8080, 'example.com:8080', true],
  ['example.com', 80, 'example.com:8080', false],
  ['other.org', 80, 'example.com, other.org', true],
  ['other.org', 80, 'example.com other.org', true],
  ['10.1.2.3', 80, '10.0.0.0/8', true],
  ['11.1.2.3', 80, '10.0.0.0/8', false],
  ['127.0.0.1', 80, '127.0.0.1', true],
  ['127.0.0.2', 80, '127.0.0.1', false],
  ['::1', 80, '::1', true],
  ['0:0::1', 80, '::1', true],
  ['fd00::5', 80, 'fd00::/8', true],
  ['::1', 9000, '[::1]:9000', true],
  ['::1', 9001, '[::1]:9000', false],
  ['localhost', 80, '127.0.0.1', false], // names are not resolved
  ['example.com', 80, '', false],
  ['example.com', 80, ',,  ,', false],
];
for (const [host, port, noProxy, bypass] of cases) {
  test(`NO_PROXY=${JSON.stringify(noProxy)}: ${host}:${port} ${bypass ? 'direct' : 'proxied'}`, () => {
    assert.equal(bypassesProxy(host, port, noProxy), bypass);
  });
}
