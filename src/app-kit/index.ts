/**
 * hyperws/app-kit: the plumbing the CLI (`hyperws serve`) and the chat app
 * share: running until a signal, listening and closing, serving a static
 * page, waiting for Redis. Not part of the ws-compatible API: it may change
 * with the apps that use it.
 */
export { SHUTDOWN_SIGNALS, runUntilSignal, type Shutdown, type SignalSource } from './signals.js';
export { closeCodeFor, closeServers, listen } from './http-server.js';
export { answerStatic, readStaticDir, serveStatic, writeAnswer, type StaticFile, type StaticSite } from './static-files.js';
export { operationsAnswer } from '../node/websocket-server.js';
export { RedisReadyTimeout, readyWithin, type Connecting } from './redis-ready.js';
