/**
 * Which connections subscribe to which topics. Each topic maps to its set
 * of subscribers; each connection keeps its own set of topics (created on
 * first subscribe) so leaving is O(own topics). The registry reports when a
 * topic gains its first or loses its last local subscriber, which is when an
 * adapter must (un)subscribe on the broker.
 */
export interface Subscriber {
  _topics: Set<string> | null;
}

export class TopicRegistry<S extends Subscriber> {
  private readonly topics = new Map<string, Set<S>>();

  constructor(private readonly onInterest: (topic: string, interested: boolean) => void) {}

  /** Returns true when the subscription is new. */
  subscribe(subscriber: S, topic: string): boolean {
    let set = this.topics.get(topic);
    if (set === undefined) {
      set = new Set();
      this.topics.set(topic, set);
    }
    if (set.has(subscriber)) return false;
    set.add(subscriber);
    (subscriber._topics ??= new Set()).add(topic);
    if (set.size === 1) this.onInterest(topic, true);
    return true;
  }

  /** Returns true when there was such a subscription. */
  unsubscribe(subscriber: S, topic: string): boolean {
    const set = this.topics.get(topic);
    if (set === undefined || !set.delete(subscriber)) return false;
    subscriber._topics?.delete(topic);
    if (set.size === 0) {
      this.topics.delete(topic);
      this.onInterest(topic, false);
    }
    return true;
  }

  /** Remove every subscription of a connection (it closed). */
  removeAll(subscriber: S): void {
    const own = subscriber._topics;
    if (own === null) return;
    for (const topic of [...own]) this.unsubscribe(subscriber, topic);
    subscriber._topics = null;
  }

  subscribers(topic: string): ReadonlySet<S> | undefined {
    return this.topics.get(topic);
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /** Topics with at least one local subscriber. */
  topicNames(): IterableIterator<string> {
    return this.topics.keys();
  }
}
