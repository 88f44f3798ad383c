// The server conformance cases again, over HTTP/2 (RFC 8441): each case's
// WebSocket runs on an Extended CONNECT stream of a raw HTTP/2 session to our
// server (`http2: true`, cleartext h2), with the same hand-made frames and the
// same byte-exact expectations as over TCP. Names start with "[h2]".
// Left out: 12.x/13.x (permessage-deflate, whose harness opens TCP connections
// itself; deflate over HTTP/2 is tested in test/node/http2-server.test.ts) and
// the case that writes frames in the same packet as the HTTP/1.1 request.
import { useTransport } from './server-harness.js';

useTransport('h2');
await import('./server-1-framing.test.js');
await import('./server-2-pingpong.test.js');
await import('./server-3-reserved-bits.test.js');
await import('./server-4-opcodes.test.js');
await import('./server-5-fragmentation.test.js');
await import('./server-6-utf8.test.js');
await import('./server-7-close.test.js');
await import('./server-9-limits.test.js');
await import('./server-10-autofragmentation.test.js');
