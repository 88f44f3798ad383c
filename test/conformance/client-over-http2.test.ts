// The client conformance cases again, over HTTP/2 (RFC 8441): our client
// opens each WebSocket with `http2: true` (h2c with prior knowledge) as an
// Extended CONNECT stream of a raw node:http2 server
// (test/support/h2-server.ts), which answers :status 200 and then plays the
// server with the same hand-made frames and byte-exact expectations as over
// TCP. Names start with "[h2]". Where a case speaks of TCP, RFC 8441 5's
// mapping applies: the FIN is END_STREAM, a reset RST_STREAM (CANCEL).
// Left out: the ws echo cases of 12.x/13.x (ws has no HTTP/2 server).
import { useTransport } from './client-harness.js';

useTransport('h2');
await import('./client-framing.test.js');
await import('./client-close.test.js');
await import('./client-12-13-deflate.test.js');
