/**
 * Where the CLI finds its files, relative to the compiled module: static/
 * (scripts/build.mjs copies src/cli/static/ to dist/esm/cli/static/),
 * package.json, three levels up from dist/esm/cli/ as from build/src/cli/,
 * and the chat app's server, built to dist/apps/chat/ (build/apps/chat/ in
 * the test build), two levels up.
 *
 * The CLI runs as ESM only (bin/hyperws imports dist/esm/cli/main.js). The
 * CommonJS build of src/ compiles this file as well, where import.meta is
 * error TS1343: hence the ts-ignore. dist/cjs/cli/ is never loaded.
 */
// @ts-ignore TS1343 under --module commonjs (dist/cjs build) only
const moduleUrl: string = import.meta.url;

export function staticFileUrl(name: string): URL {
  return new URL(`./static/${name}`, moduleUrl);
}

export const PACKAGE_JSON_URL = new URL('../../../package.json', moduleUrl);

export const CHAT_SERVER_URL = new URL('../../apps/chat/server/main.js', moduleUrl);
