import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyUrl } from '../../../src/node/proxy/proxy-url.js';

test('schemes, default ports and display without credentials', () => {
  assert.deepEqual(parseProxyUrl('http://u:p%20w@proxy.local:3128'), {
    scheme: 'http', host: 'proxy.local', port: 3128, username: 'u', password: 'p w', display: 'http://proxy.local:3128',
  });
  assert.equal(parseProxyUrl('http://proxy').port, 80);
  assert.equal(parseProxyUrl('https://proxy').port, 443);
  assert.equal(parseProxyUrl('socks5://proxy').port, 1080);
  assert.equal(parseProxyUrl('socks5h://proxy').scheme, 'socks5');
  assert.equal(parseProxyUrl('socks://proxy').scheme, 'socks5');
  assert.equal(parseProxyUrl('proxy:8080').display, 'http://proxy:8080');
  assert.deepEqual({ ...parseProxyUrl('http://[::1]:8080') }, { scheme: 'http', host: '::1', port: 8080, username: '', password: '', display: 'http://[::1]:8080' });
});

test('unsupported schemes and malformed URLs are SyntaxErrors naming the problem', () => {
  assert.throws(() => parseProxyUrl('socks4://proxy:1080'), { name: 'SyntaxError', message: 'Unsupported proxy scheme "socks4" (supported: http, https, socks5, socks5h)' });
  assert.throws(() => parseProxyUrl('http://'), { name: 'SyntaxError' });
});
