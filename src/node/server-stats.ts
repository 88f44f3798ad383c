/**
 * What a server reports about itself: `server.stats()` (numbers) and
 * `server.metrics()` (the same numbers in the Prometheus text format, 0.0.4).
 *
 * Owns: the handshake counts (accepted, refused by reason), the snapshot of
 * the shared Counters its connections add to (src/protocol/counters.ts), and
 * the rendering. Must not touch: where the numbers come from.
 */
import { Counters } from '../protocol/index.js';

/** Why a handshake was refused; the label of hyperws_handshakes_refused_total. */
export type RefusalReason =
  | 'shutting_down'
  | 'max_connections'
  | 'max_pending_handshakes'
  | 'path'
  | 'invalid_request'
  | 'origin'
  | 'verify_client'
  | 'subprotocol'
  | 'response_header'
  | 'request_head'
  | 'handshake_timeout';

export interface ServerStats {
  connections: { open: number; accepted: number };
  handshakes: { accepted: number; refused: Partial<Record<RefusalReason, number>> };
  messages: { in: number; out: number };
  bytes: { in: number; out: number };
  /** permessage-deflate: payload bytes compressed and what they became; ratio = output / input (null before any). */
  deflate: { input: number; output: number; ratio: number | null };
  /** Connections closed, by the code of their 'close' event. */
  closeCodes: Record<string, number>;
  backpressure: { closes: number; drops: number };
  /** With topics: publications, deliveries and the adapter's state. */
  pubsub?: PubSubStats;
}

export interface PubSubStats {
  publications: number;
  deliveries: number;
  adapter: AdapterStatus;
}

export interface AdapterStatus {
  /** 'in-process', 'redis', or an adapter's own name. */
  name: string;
  /** Connected to its broker (always true in process). */
  connected: boolean;
  /** Times it lost its broker and reconnected. */
  reconnects: number;
  /** Local publications it could not forward. */
  dropped: number;
}

export class ServerMeter {
  /** Shared with every connection through the server's settings. */
  readonly counters = new Counters();
  private accepted = 0;
  private readonly refusals = new Map<RefusalReason, number>();

  acceptedOne(): void {
    this.accepted++;
  }

  refused(why: RefusalReason): void {
    this.refusals.set(why, (this.refusals.get(why) ?? 0) + 1);
  }

  snapshot(open: number): ServerStats {
    const c = this.counters;
    return {
      connections: { open, accepted: this.accepted },
      handshakes: { accepted: this.accepted, refused: Object.fromEntries(this.refusals) },
      messages: { in: c.messagesIn, out: c.messagesOut },
      bytes: { in: c.bytesIn, out: c.bytesOut },
      deflate: { input: c.deflateInput, output: c.deflateOutput, ratio: c.deflateInput > 0 ? c.deflateOutput / c.deflateInput : null },
      closeCodes: Object.fromEntries([...c.closeCodes].map(([code, n]) => [String(code), n])),
      backpressure: { closes: c.backpressureCloses, drops: c.backpressureDrops },
    };
  }
}

/** The stats as Prometheus text exposition (version 0.0.4): counters end in _total, one HELP and TYPE per family. */
export function renderMetrics(stats: ServerStats): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[labels: string, value: number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  family('hyperws_connections_open', 'gauge', 'WebSocket connections open now.', [['', stats.connections.open]]);
  family('hyperws_handshakes_accepted_total', 'counter', 'Opening handshakes accepted.', [['', stats.handshakes.accepted]]);
  family(
    'hyperws_handshakes_refused_total',
    'counter',
    'Opening handshakes refused, by reason.',
    Object.entries(stats.handshakes.refused).map(([reason, n]) => [`{reason="${reason}"}`, n!]),
  );
  family('hyperws_messages_received_total', 'counter', 'Messages received.', [['', stats.messages.in]]);
  family('hyperws_messages_sent_total', 'counter', 'Messages sent (a publication once per connection).', [['', stats.messages.out]]);
  family('hyperws_bytes_received_total', 'counter', 'Bytes read from the transports.', [['', stats.bytes.in]]);
  family('hyperws_bytes_sent_total', 'counter', 'Bytes handed to the transports.', [['', stats.bytes.out]]);
  family('hyperws_deflate_input_bytes_total', 'counter', 'Payload bytes given to permessage-deflate.', [['', stats.deflate.input]]);
  family('hyperws_deflate_output_bytes_total', 'counter', 'Bytes permessage-deflate produced from them.', [['', stats.deflate.output]]);
  family(
    'hyperws_closes_total',
    'counter',
    'Connections closed, by close code.',
    Object.entries(stats.closeCodes).map(([code, n]) => [`{code="${code}"}`, n]),
  );
  family('hyperws_backpressure_closes_total', 'counter', 'Connections closed (1008) above maxBackpressure.', [['', stats.backpressure.closes]]);
  family('hyperws_backpressure_drops_total', 'counter', 'Sends dropped or refused above maxBackpressure.', [['', stats.backpressure.drops]]);
  const pubsub = stats.pubsub;
  if (pubsub !== undefined) {
    family('hyperws_publications_total', 'counter', 'Publications made on this node.', [['', pubsub.publications]]);
    family('hyperws_publish_deliveries_total', 'counter', 'Publications written to local subscribers.', [['', pubsub.deliveries]]);
    const label = `{adapter="${pubsub.adapter.name}"}`;
    family('hyperws_adapter_connected', 'gauge', 'Whether the pub/sub adapter reaches its broker (1) or not (0).', [[label, pubsub.adapter.connected ? 1 : 0]]);
    family('hyperws_adapter_reconnects_total', 'counter', 'Times the adapter reconnected to its broker.', [[label, pubsub.adapter.reconnects]]);
    family('hyperws_adapter_dropped_total', 'counter', 'Local publications the adapter could not forward.', [[label, pubsub.adapter.dropped]]);
  }
  return out.join('\n') + '\n';
}
