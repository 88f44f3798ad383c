// graphql-ws (GraphQL over WebSocket) over hyperws: its server helper
// `useServer()` on our WebSocketServer, its client with our WebSocket and
// with hyperws/web's WHATWG WebSocket as `webSocketImpl`. Queries, a
// subscription's every event, a GraphQL error, and a client that closes
// when it is done. graphql and graphql-ws are loaded as CommonJS both (one
// graphql copy: schema objects cross no module boundary).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Client } from 'graphql-ws';
import { T } from './helpers.js';
import { hyperws, hyperwsWeb, realWsLoaded, requirePackage } from '../support/ws-alias.js';

const graphql = requirePackage<typeof import('graphql')>('graphql');
const { createClient } = requirePackage<typeof import('graphql-ws')>('graphql-ws');
const { useServer } = requirePackage<typeof import('graphql-ws/use/ws')>('graphql-ws/use/ws');
const { WebSocket, WebSocketServer } = hyperws();
const web = hyperwsWeb();

const schema = new graphql.GraphQLSchema({
  query: new graphql.GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: graphql.GraphQLString,
        args: { name: { type: graphql.GraphQLString } },
        resolve: (_root: unknown, args: { name?: string }) => `Hello, ${args.name ?? 'world'}!`,
      },
      sum: {
        type: graphql.GraphQLInt,
        args: { values: { type: new graphql.GraphQLList(graphql.GraphQLInt) } },
        resolve: (_root: unknown, args: { values: number[] }) => args.values.reduce((a, b) => a + b, 0),
      },
    },
  }),
  subscription: new graphql.GraphQLObjectType({
    name: 'Subscription',
    fields: {
      countdown: {
        type: graphql.GraphQLInt,
        args: { from: { type: new graphql.GraphQLNonNull(graphql.GraphQLInt) } },
        subscribe: async function* (_root: unknown, args: { from: number }) {
          for (let n = args.from; n >= 0; n--) yield { countdown: n };
        },
      },
    },
  }),
});

/** Our WebSocketServer on port 0 with graphql-ws's server on it; everything closed after `fn`. */
async function withServer(fn: (url: string, wss: InstanceType<typeof WebSocketServer>) => Promise<void>): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const server = useServer({ schema }, wss as unknown as Parameters<typeof useServer>[1], 0);
  try {
    await fn(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`, wss);
  } finally {
    await server.dispose();
  }
}

/** Every result of one operation, until it completes. */
async function all(client: Client, query: string): Promise<unknown[]> {
  const results: unknown[] = [];
  for await (const result of client.iterate({ query })) results.push(result);
  return results;
}

/** A client that does not retry (a failure fails the test), on one socket from creation to dispose(). */
function client(url: string, webSocketImpl: unknown): Client {
  return createClient({ url, webSocketImpl, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
}

describe('graphql-ws over hyperws', () => {
  for (const [name, impl] of [
    ['our WebSocket', WebSocket],
    ['hyperws/web\'s WebSocket', web.WebSocket],
  ] as const) {
    it(`queries, a subscription and a GraphQL error, client: ${name}`, T, async () => {
      await withServer(async (url, wss) => {
        const accepted: Array<InstanceType<typeof WebSocket>> = [];
        wss.on('connection', (ws: InstanceType<typeof WebSocket>) => accepted.push(ws));
        const gql = client(url, impl);
        let serverSide: InstanceType<typeof WebSocket> | undefined;
        try {
          assert.deepEqual(await all(gql, '{ hello(name: "hyperws") }'), [{ data: { hello: 'Hello, hyperws!' } }]);
          serverSide = accepted[0]!;
          assert.ok(serverSide instanceof WebSocket);
          assert.equal(serverSide.protocol, 'graphql-transport-ws');
          assert.deepEqual(await all(gql, '{ sum(values: [1, 2, 39]) hello }'), [{ data: { sum: 42, hello: 'Hello, world!' } }]);
          assert.deepEqual(await all(gql, 'subscription { countdown(from: 3) }'), [3, 2, 1, 0].map((n) => ({ data: { countdown: n } })));
          await assert.rejects(all(gql, '{ nope }'), (errors: unknown) => {
            assert.ok(Array.isArray(errors));
            assert.match((errors as Array<{ message: string }>)[0]!.message, /Cannot query field "nope" on type "Query"/);
            return true;
          });
          assert.equal(accepted.length, 1, 'every operation on one connection');
        } finally {
          const closing = serverSide && serverSide.readyState !== WebSocket.CLOSED ? (once(serverSide, 'close') as Promise<[number, Buffer]>) : null;
          await gql.dispose();
          // The client says goodbye with 1000 Normal Closure.
          if (closing) assert.equal((await closing)[0], 1000);
        }
        assert.deepEqual(realWsLoaded(), []);
      });
    });
  }

  it('several clients subscribed at once each get their own events', T, async () => {
    await withServer(async (url) => {
      const clients = [client(url, WebSocket), client(url, web.WebSocket), client(url, WebSocket)];
      try {
        const results = await Promise.all(clients.map((c, i) => all(c, `subscription { countdown(from: ${i + 1}) }`)));
        assert.deepEqual(
          results.map((r) => r.map((x) => (x as { data: { countdown: number } }).data.countdown)),
          [
            [1, 0],
            [2, 1, 0],
            [3, 2, 1, 0],
          ],
        );
      } finally {
        await Promise.all(clients.map((c) => c.dispose()));
      }
    });
  });
});
