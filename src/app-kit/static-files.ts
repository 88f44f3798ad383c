/**
 * Serving an app's page: a fixed set of files held in memory, answered to
 * GET and HEAD, with a 426 on the WebSocket endpoint's path (a plain request
 * there is a mistake worth naming) and 404 elsewhere. Owns the HTTP answers;
 * what the files are and which headers protect them are the app's.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { pathnameOf } from '../handshake/index.js';

export interface StaticFile {
  readonly body: Buffer;
  /** Content-Type. */
  readonly type: string;
}

export interface StaticSite {
  /** Request pathname ('/', '/app.js') -> file. */
  readonly files: ReadonlyMap<string, StaticFile>;
  /** Sent with every file, after Content-Type and Content-Length: caching, security policy. */
  readonly headers: Readonly<Record<string, string>>;
  /** The WebSocket endpoint, and the body of the 426 a plain request there gets. */
  readonly endpoint: { readonly path: string; readonly message: string };
}

/** A request listener for node:http serving `site`. */
export function serveStatic(site: StaticSite): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const pathname = pathnameOf(req.url ?? '/');
    const file = site.files.get(pathname);
    if (file !== undefined) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
      res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, ...site.headers });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    if (pathname === site.endpoint.path) return sendText(res, 426, site.endpoint.message, { Upgrade: 'websocket' });
    sendText(res, 404, 'Not Found\n');
  };
}

/**
 * Every file of `dir` (not its subdirectories) whose extension has a
 * Content-Type in `types`, read once, keyed '/<name>'. Throws the file
 * system's error when the directory cannot be read.
 */
export function readStaticDir(dir: string, types: Readonly<Record<string, string>>): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = types[extname(name)];
    if (type === undefined || !statSync(join(dir, name)).isFile()) continue;
    files.set(`/${name}`, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
