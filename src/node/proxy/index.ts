/** Client connections through HTTP CONNECT and SOCKS5 proxies. */
export { ProxyError, type ProxyErrorCode } from './proxy-error.js';
export { parseProxyUrl, type ProxyEndpoint, type ProxyScheme } from './proxy-url.js';
export { proxyFromEnvironment, bypassesProxy, type Environment } from './env-proxy.js';
export { openTunnel, type PendingTunnel, type TunnelRequest } from './tunnel.js';
