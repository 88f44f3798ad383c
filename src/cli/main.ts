/**
 * The `hyperws` command line: dispatches `hyperws <command> [options]` to the
 * subcommands in COMMANDS, prints usage, help and version. Owns the exit
 * status convention (0 ok, 1 failure, 2 usage) and the one-line error format
 * `hyperws <command>: <message>`; each subcommand owns its own options.
 *
 * bin/hyperws (CommonJS, so that it runs on Node 20 without an extension)
 * imports this module from dist/esm and exits with what main() resolves to.
 */
import { readFileSync } from 'node:fs';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, parse, parseInteger, type CliIo, type OptionsConfig } from './args.js';
import { CHAT_SERVER_URL, PACKAGE_JSON_URL } from './location.js';
import { serveCommand } from './serve.js';
import { connectCommand } from './connect.js';
import { benchCommand } from './bench/bench-command.js';

export type { CliIo } from './args.js';

/** One subcommand: its options (for parseArgs), help text and body. */
export interface Command {
  /** One line for `hyperws --help`. */
  summary: string;
  /** The full `hyperws <command> --help` text (without trailing newline). */
  help: string;
  options: OptionsConfig;
  allowPositionals: boolean;
  run(values: Record<string, unknown>, positionals: string[], io: CliIo): Promise<number>;
}

/**
 * `hyperws chat`: the chat-room app lives in apps/chat (CHAT_SERVER_URL);
 * it is imported only when the command runs.
 */
const chatCommand: Command = {
  summary: 'run the chat-room app: web page and WebSocket on one port',
  help: `Usage: hyperws chat [options]

Serves the chat page at http://HOST:PORT/ and its WebSocket endpoint at
ws://HOST:PORT/ws: rooms, nicknames, presence, typing indicators and the
last 100 messages of each room.

Options:
  -p, --port N         port to listen on (default 8080; 0 picks a free port)
      --host HOST      address to bind (default 127.0.0.1; 0.0.0.0 for all)
      --data-dir DIR   keep rooms and history in DIR (default ./chat-data):
                       an append-only log, fsynced before a send is acked
      --redis URL      share rooms, presence and history with every node
                       started with the same Redis (redis://host:port);
                       Redis keeps them instead of a data directory
  -h, --help           show this help

Prints one line on stdout when listening:
  hyperws chat: http://HOST:PORT/
SIGINT or SIGTERM closes every client with 1001 (Going Away) and exits 0.`,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    redis: { type: 'string' },
    'data-dir': { type: 'string' },
  },
  allowPositionals: false,
  async run(values, _positionals, io) {
    const v = values as { port?: string; host?: string; redis?: string; 'data-dir'?: string };
    const port = v.port === undefined ? 8080 : parseInteger('port', v.port, 65535);
    const host = v.host ?? '127.0.0.1';
    if (host === '') throw new UsageError("Option '--host' must not be empty");
    if (v.redis !== undefined && !/^rediss?:\/\/\S+$/.test(v.redis)) {
      throw new UsageError(`Option '--redis' expects a URL such as redis://127.0.0.1:6379, got '${v.redis}'`);
    }
    const dataDir = v['data-dir'];
    if (dataDir === '') throw new UsageError("Option '--data-dir' must not be empty");
    if (dataDir !== undefined && v.redis !== undefined) throw new UsageError("Options '--data-dir' and '--redis' exclude each other: with --redis, Redis keeps the history");
    const chat = (await import(CHAT_SERVER_URL.href)) as {
      runChat(options: { port: number; host: string; redis?: string | undefined; dataDir?: string | undefined }, io: CliIo): Promise<number>;
    };
    return chat.runChat({ port, host, redis: v.redis, dataDir }, io);
  },
};

// The subcommands, in the order `hyperws --help` lists them.
const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  connect: connectCommand,
  chat: chatCommand,
  bench: benchCommand,
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, cmd]) => `  ${name.padEnd(width)}  ${cmd.summary}`);
  return [
    'Usage: hyperws <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help     show this help (hyperws <command> --help for a command)',
    '  -v, --version  print the version',
  ].join('\n');
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON_URL, 'utf8')) as { version: string };
  return pkg.version;
}

/** Run the command line `argv` (without node and script); resolves to the exit status. */
export async function main(argv: string[], io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(`${usage()}\n`);
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) {
      io.stdout.write(`${COMMANDS[topic]!.help}\n`);
      return EXIT_OK;
    }
    io.stdout.write(`${usage()}\n`);
    return EXIT_OK;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
    io.stderr.write(`hyperws: ${what}\n${usage()}\n`);
    return EXIT_USAGE;
  }
  const command = COMMANDS[first]!;
  try {
    const { values, positionals } = parse(rest, { ...command.options, help: { type: 'boolean', short: 'h' } }, command.allowPositionals);
    if (values.help) {
      io.stdout.write(`${command.help}\n`);
      return EXIT_OK;
    }
    return await command.run(values, positionals, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`hyperws ${first}: ${error.message} (see 'hyperws ${first} --help')\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`hyperws ${first}: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
