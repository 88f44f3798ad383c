/**
 * Serving an app's page: a fixed set of files held in memory, answered to
 * GET and HEAD, with a 426 on the WebSocket endpoint's path (a plain request
 * there is a mistake worth naming) and 404 elsewhere; as a node:http listener
 * or as the answers of an upgrade server. Owns the HTTP answers;
 * what the files are and which headers protect them are the app's.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { pathnameOf } from '../handshake/index.js';
import type { HttpAnswer } from '../node/upgrade-server.js';

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

/**
 * The answer to a request for `site`: 200 with the file (GET and HEAD), 405
 * for other methods on a file, 426 on the WebSocket endpoint, 404 elsewhere.
 */
export function answerStatic(site: StaticSite, method: string | undefined, url: string | undefined): HttpAnswer {
  const pathname = pathnameOf(url ?? '/');
  const file = site.files.get(pathname);
  if (file !== undefined) {
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    return { status: 200, headers: { 'Content-Type': file.type, ...site.headers }, body: file.body };
  }
  if (pathname === site.endpoint.path) return text(426, site.endpoint.message, { Upgrade: 'websocket' });
  return text(404, 'Not Found\n');
}

/** A request listener for node:http serving `site` (see answerStatic). */
export function serveStatic(site: StaticSite): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => writeAnswer(req, res, answerStatic(site, req.method, req.url));
}

/** Write an answer on a node:http response (no body for HEAD, its length still given). */
export function writeAnswer(req: IncomingMessage, res: ServerResponse, { status, headers, body }: HttpAnswer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const [type, ...rest] = Object.entries(headers);
  // Content-Type, Content-Length, then the rest: the order node:http clients have always seen.
  res.writeHead(status, { [type![0]]: type![1], 'Content-Length': bytes.length, ...Object.fromEntries(rest) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/**
 * Every file of `dir` (not its subdirectories) whose extension has a
 * Content-Type in `types`, read once, keyed `prefix` + name ('/<name>' by
 * default; a subdirectory is served by reading it with its own prefix,
 * '/lib/'). Throws the file system's error when the directory cannot be read.
 */
export function readStaticDir(dir: string, types: Readonly<Record<string, string>>, prefix = '/'): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = types[extname(name)];
    if (type === undefined || !statSync(join(dir, name)).isFile()) continue;
    files.set(`${prefix}${name}`, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

function text(status: number, body: string, headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body };
}
