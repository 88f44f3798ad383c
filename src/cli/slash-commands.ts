/**
 * `hyperws connect`'s interactive commands: a typed line starting with '/'
 * is a command, any other line a text message. Pure parsing: connect.ts
 * carries them out.
 *
 *   /ping [data]            a ping (the pong's round-trip time is shown)
 *   /pong [data]            an unsolicited pong
 *   /close [code [reason]]  the closing handshake
 *   /binary HEX             a binary message (hex digits, spaces allowed)
 *   //text                  the text message "/text"
 */

export type SlashCommand =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'ping' | 'pong'; readonly data: string }
  | { readonly kind: 'close'; readonly code: number | undefined; readonly reason: string }
  | { readonly kind: 'binary'; readonly bytes: Buffer }
  | { readonly kind: 'invalid'; readonly message: string };

export const SLASH_HELP = '/ping [data], /pong [data], /close [code [reason]], /binary HEX, //text sends "/text"';

export function parseLine(line: string): SlashCommand {
  if (!line.startsWith('/')) return { kind: 'text', text: line };
  if (line.startsWith('//')) return { kind: 'text', text: line.slice(1) };
  const match = /^\/(\S*)(?:\s(.*))?$/.exec(line)!;
  const name = match[1]!;
  const rest = match[2] ?? '';
  switch (name) {
    case 'ping':
    case 'pong':
      if (Buffer.byteLength(rest) > 125) return { kind: 'invalid', message: `/${name} data is limited to 125 bytes` };
      return { kind: name, data: rest };
    case 'close': {
      const args = /^\s*(\d+)?(?:\s+(.*))?$/.exec(rest);
      if (args === null) return { kind: 'invalid', message: `/close expects a code (1000 or 3000-4999), got '${rest.trim()}'` };
      const code = args[1] === undefined ? undefined : Number(args[1]);
      if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) return { kind: 'invalid', message: `/close expects a code of 1000 or 3000-4999, got ${code}` };
      const reason = args[2] ?? '';
      if (Buffer.byteLength(reason) > 123) return { kind: 'invalid', message: '/close reason is limited to 123 bytes' };
      if (reason !== '' && code === undefined) return { kind: 'invalid', message: '/close needs a code before a reason' };
      return { kind: 'close', code, reason };
    }
    case 'binary': {
      const hex = rest.replace(/\s+/g, '');
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) return { kind: 'invalid', message: '/binary expects pairs of hex digits, e.g. /binary 00 ff 10' };
      return { kind: 'binary', bytes: Buffer.from(hex, 'hex') };
    }
    default:
      return { kind: 'invalid', message: `unknown command '/${name}' (${SLASH_HELP})` };
  }
}
