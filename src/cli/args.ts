/**
 * Shared helpers of the `hyperws` command line: argument parsing with
 * node:util parseArgs (strict), usage errors (exit status 2) and the small
 * value parsers the subcommands use. Owns nothing else: no I/O besides the
 * streams it is handed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isToken } from '../handshake/index.js';

/** Exit statuses: 0 success, 1 runtime failure, 2 bad usage (as most Unix tools). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The streams a subcommand writes to and reads from (the process's by default). */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Thrown for a bad command line; main() prints it on one line and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

/**
 * parseArgs in strict mode, with its multi-sentence errors cut to their first
 * sentence ("Unknown option '--x'") and rethrown as UsageError.
 */
export function parse(argv: string[], options: OptionsConfig, allowPositionals: boolean): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values, positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      // Keep the first sentence: the rest is advice about '--' that does not fit one line.
      throw new UsageError((error as Error).message.split(/\.(?:\s|$)/, 1)[0]!);
    }
    throw error;
  }
}

/** A non-negative integer option (ports, sizes, milliseconds). */
export function parseInteger(name: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`Option '--${name}' expects an integer from 0 to ${max}, got '${value}'`);
  }
  return Number(value);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * A duration option in milliseconds: a bare number is milliseconds (as the
 * library's options), or a number with a unit: `500ms`, `1.5s`, `2m`.
 */
export function parseDuration(name: string, value: string, max = 2 ** 31 - 1): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  const ms = match === null ? NaN : Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!);
  if (!Number.isFinite(ms) || ms > max) {
    throw new UsageError(`Option '--${name}' expects a duration (milliseconds, or with a unit: 500ms, 5s, 2m), got '${value}'`);
  }
  return ms;
}

/** A URL given without a scheme ("host:port/path") means ws://. */
export function withWebSocketScheme(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `ws://${url}`;
}

/**
 * `-H NAME:VALUE` options as request headers: split at the first colon, both
 * sides trimmed; the name must be a token and the value free of CR, LF and
 * NUL (no header injection). A name given again (in any case) has its values
 * joined with ", " under its first spelling.
 */
export function parseHeaders(options: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const header of options) {
    const colon = header.indexOf(':');
    const name = colon === -1 ? '' : header.slice(0, colon).trim();
    const value = colon === -1 ? '' : header.slice(colon + 1).trim();
    if (!isToken(name) || /[\r\n\0]/.test(value)) throw new UsageError(`Option '--header' expects NAME:VALUE, got '${printable(header)}'`);
    const existing = Object.keys(headers).find((key) => key.toLowerCase() === name.toLowerCase());
    if (existing !== undefined) headers[existing] = `${headers[existing]}, ${value}`;
    else headers[name] = value;
  }
  return headers;
}

/** Control characters shown as escapes, so that one log record stays one line. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** "host:port" as it appears in a URL (IPv6 literals bracketed). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
