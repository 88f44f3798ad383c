/**
 * The server the attack suite attacks: a child process (forked with
 * --expose-gc by helpers.ts) running the library as an application would.
 * Up to two endpoints, each echoing every message back:
 * - 'own': a WebSocketServer on its own port (the upgrade server);
 * - 'attached': a node:http server serving plain requests, with a
 *   WebSocketServer attached to it (`server`), so keep-alive and the
 *   request-head guard are in play.
 * Text messages starting with 'cmd:' are commands (see onCommand): close,
 * send a flood, subscribe, publish. Over IPC, the parent asks for counters
 * (cheap, for polling) or a memory report taken after garbage collection.
 *
 * Configuration: one JSON argument, { own?: ServerOptions, attached?: ServerOptions }.
 */
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { WebSocketServer, type ServerOptions, type WebSocket } from '../../src/index.js';

export type EndpointName = 'own' | 'attached';
export interface AttackServerConfig {
  own?: ServerOptions;
  attached?: ServerOptions;
  /** node:http's maxHeaderSize for the attached endpoint's server (Node's default: 16 KiB). */
  httpMaxHeaderSize?: number;
}

/** What the parent asks over IPC. */
export type Request = { id: number; type: 'counters' | 'memory' | 'stop' };

export interface EndpointCounters {
  /** Connections open now (the server's own count). */
  open: number;
  /** Connections accepted since the start. */
  accepted: number;
  /** 'close' events by code. */
  closeCodes: Record<string, number>;
  /** Handshakes refused, by reason. */
  refused: Record<string, number>;
  messagesIn: number;
  pingsIn: number;
  /** Send callbacks that got an error (dropped or failed sends). */
  sendErrors: number;
  /** Sum of bufferedAmount over open connections. */
  bufferedAmount: number;
  /** Sends that met backpressurePolicy: connections closed, sends dropped. */
  backpressureCloses: number;
  backpressureDrops: number;
}

export interface Counters {
  own?: EndpointCounters;
  attached?: EndpointCounters;
  /** Open file descriptors of the process (/proc/self/fd). */
  fds: number;
}

export interface MemoryReport extends Counters {
  /** After two full collections. */
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

const TOPIC = 'attack';

class Endpoint {
  readonly wss: WebSocketServer;
  pingsIn = 0;
  sendErrors = 0;
  /** Every connection, open or closing, with what it holds (clients may be off: clientTracking). */
  readonly live = new Set<WebSocket>();

  constructor(options: ServerOptions) {
    this.wss = new WebSocketServer(options);
    this.wss.on('connection', (ws) => this.accept(ws));
  }

  private readonly sent = (error?: Error | null): void => {
    if (error) this.sendErrors++;
  };

  private accept(ws: WebSocket): void {
    this.live.add(ws);
    ws.on('close', () => this.live.delete(ws));
    ws.on('error', () => {}); // peers misbehave on purpose: the close code tells
    ws.on('ping', () => this.pingsIn++);
    ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      if (!isBinary && bytes.length > 4 && bytes.toString('latin1', 0, 4) === 'cmd:') return this.onCommand(ws, bytes.toString());
      this.send(ws, bytes, isBinary);
    });
  }

  private send(ws: WebSocket, data: Buffer | string, binary: boolean): void {
    try {
      ws.send(data, { binary }, this.sent);
    } catch {
      this.sendErrors++; // backpressurePolicy 'error' throws
    }
  }

  /**
   * cmd:close:CODE        start the closing handshake
   * cmd:flood:COUNT:SIZE  send COUNT binary messages of SIZE bytes, then the text 'flood-done'
   * cmd:subscribe         subscribe to the topic, answer 'subscribed'
   * cmd:publish:COUNT:SIZE publish COUNT binary messages of SIZE bytes to the topic, then answer 'published'
   */
  private onCommand(ws: WebSocket, command: string): void {
    const [, name, a = '0', b = '0'] = command.split(':');
    const count = Number(a);
    const size = Number(b);
    switch (name) {
      case 'close':
        ws.close(count);
        return;
      case 'flood': {
        // As a careless application would: fresh data each time, no look at bufferedAmount; the library's limit is the guard.
        for (let i = 0; i < count; i++) this.send(ws, Buffer.alloc(size, i), true);
        this.send(ws, 'flood-done', false);
        return;
      }
      case 'subscribe':
        ws.subscribe(TOPIC);
        this.send(ws, 'subscribed', false);
        return;
      case 'publish': {
        for (let i = 0; i < count; i++) this.wss.publish(TOPIC, Buffer.alloc(size, i), { binary: true });
        this.send(ws, 'published', false);
        return;
      }
      default:
        this.send(ws, `unknown command ${command}`, false);
    }
  }

  counters(): EndpointCounters {
    const stats = this.wss.stats();
    let bufferedAmount = 0;
    for (const ws of this.live) bufferedAmount += ws.bufferedAmount;
    return {
      open: stats.connections.open,
      accepted: stats.connections.accepted,
      closeCodes: { ...stats.closeCodes },
      refused: { ...(stats.handshakes.refused as Record<string, number>) },
      messagesIn: stats.messages.in,
      pingsIn: this.pingsIn,
      sendErrors: this.sendErrors,
      bufferedAmount,
      backpressureCloses: stats.backpressure.closes,
      backpressureDrops: stats.backpressure.drops,
    };
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as AttackServerConfig;
  const send = (message: unknown): void => void process.send!(message);
  const endpoints: Partial<Record<EndpointName, Endpoint>> = {};
  const ports: Partial<Record<EndpointName, number>> = {};
  let http: HttpServer | null = null;
  if (config.own) {
    const own = (endpoints.own = new Endpoint({ ...config.own, port: 0, host: '127.0.0.1' }));
    await once(own.wss, 'listening');
    ports.own = (own.wss.address() as AddressInfo).port;
  }
  if (config.attached) {
    http = createServer({ maxHeaderSize: config.httpMaxHeaderSize }, (req, res) => {
      req.resume();
      res.end('plain answer\n');
    });
    endpoints.attached = new Endpoint({ ...config.attached, server: http });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    ports.attached = (http.address() as AddressInfo).port;
  }
  const counters = (): Counters => {
    const out: Counters = { fds: readdirSync('/proc/self/fd').length };
    if (endpoints.own) out.own = endpoints.own.counters();
    if (endpoints.attached) out.attached = endpoints.attached.counters();
    return out;
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('server-process needs --expose-gc');
  process.on('message', async (request: Request) => {
    if (request.type === 'counters') return send({ id: request.id, counters: counters() });
    if (request.type === 'memory') {
      // Two collections with a turn of the event loop between: closed sockets' handles are released on close callbacks.
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const m = process.memoryUsage();
      const report: MemoryReport = { ...counters(), heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
      return send({ id: request.id, memory: report });
    }
    for (const e of Object.values(endpoints)) {
      for (const ws of e.live) ws.terminate();
      e.wss.close();
    }
    http?.closeAllConnections();
    http?.close();
    send({ id: request.id, stopped: true });
    process.disconnect();
  });
  send({ ready: true, ports });
}

main().catch((error: unknown) => {
  process.stderr.write(`attack server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
