/**
 * Opens a tunnel through a proxy: connects to it (TLS for an https://
 * proxy), runs the handshake (http-connect.ts or socks5.ts) over the socket
 * and hands the socket over once the target is reachable through it. TLS to
 * the target, if any, is the caller's (client-connect.ts wraps the socket).
 * Every failure is a ProxyError naming the proxy.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { HttpConnectHandshake } from './http-connect.js';
import { ProxyError } from './proxy-error.js';
import type { ProxyEndpoint } from './proxy-url.js';
import { Socks5Handshake } from './socks5.js';
import type { TunnelHandshake } from './tunnel-handshake.js';

export interface TunnelRequest {
  readonly proxy: ProxyEndpoint;
  /** The target, as the proxy should reach it. */
  readonly host: string;
  readonly port: number;
  /** TLS options for an https:// proxy's own certificate (ca, rejectUnauthorized...). */
  readonly proxyTls?: TlsConnectionOptions | undefined;
  /** Fail with ERR_PROXY_TIMEOUT when the tunnel is not open after this many ms (0 or undefined: never). */
  readonly timeout?: number | undefined;
}

export type TunnelCallback = (error: Error | null, socket?: Socket) => void;

/** An opening tunnel; abort() destroys its socket and silences the callback. */
export interface PendingTunnel {
  abort(): void;
}

export function handshakeFor(request: TunnelRequest): TunnelHandshake {
  return request.proxy.scheme === 'socks5'
    ? new Socks5Handshake(request.proxy, request.host, request.port)
    : new HttpConnectHandshake(request.proxy, request.host, request.port);
}

export function openTunnel(request: TunnelRequest, callback: TunnelCallback): PendingTunnel {
  const { proxy } = request;
  let done = false;
  let connected = false;
  let handshake: TunnelHandshake;
  try {
    handshake = handshakeFor(request);
  } catch (error) {
    process.nextTick(callback, error as Error);
    return { abort() {} };
  }
  const socket: Socket =
    proxy.scheme === 'https'
      ? tlsConnect({ ...request.proxyTls, host: proxy.host, port: proxy.port, ...(isIP(proxy.host) === 0 && request.proxyTls?.servername === undefined ? { servername: proxy.host } : {}) })
      : netConnect({ host: proxy.host, port: proxy.port });

  const finish = (error: Error | null): void => {
    if (done) return;
    done = true;
    socket.removeListener(proxy.scheme === 'https' ? 'secureConnect' : 'connect', onConnect);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    socket.removeListener('timeout', onTimeout);
    if (request.timeout) socket.setTimeout(0);
    if (error !== null) {
      socket.destroy();
      callback(error);
    } else {
      callback(null, socket);
    }
  };
  const onConnect = (): void => {
    connected = true;
    socket.write(handshake.start());
  };
  const onData = (chunk: Buffer): void => {
    const step = handshake.receive(chunk);
    switch (step.kind) {
      case 'more':
        return;
      case 'send':
        socket.write(step.bytes);
        return;
      case 'failed':
        finish(step.error);
        return;
      case 'open':
        socket.pause();
        if (step.rest.length > 0) socket.unshift(step.rest);
        finish(null);
    }
  };
  const onError = (error: Error): void => {
    const message = connected
      ? `Proxy ${proxy.display} failed during ${handshake.describe}: ${error.message}`
      : `Cannot reach proxy ${proxy.display}: ${error.message}`;
    finish(new ProxyError(connected ? 'ERR_PROXY_PROTOCOL' : 'ERR_PROXY_UNREACHABLE', proxy.display, message, { cause: error }));
  };
  const onClose = (): void => {
    finish(new ProxyError('ERR_PROXY_PROTOCOL', proxy.display, `Proxy ${proxy.display} closed the connection during ${handshake.describe}`));
  };
  const onTimeout = (): void => {
    finish(new ProxyError('ERR_PROXY_TIMEOUT', proxy.display, `Proxy ${proxy.display}: ${handshake.describe} has timed out`));
  };
  socket.once(proxy.scheme === 'https' ? 'secureConnect' : 'connect', onConnect);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.on('timeout', onTimeout);
  if (request.timeout) socket.setTimeout(request.timeout);
  return {
    abort() {
      if (done) return;
      done = true;
      socket.destroy();
    },
  };
}
