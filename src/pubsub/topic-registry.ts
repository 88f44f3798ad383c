/**
 * Which connections subscribe to which topics. Each topic maps to its set
 * of subscribers, and each subscriber to its own set of topics (so leaving
 * is O(own topics)); both maps are the registry's own, and a subscriber
 * appears in them only while it has a topic. The registry reports when a
 * topic gains its first or loses its last local subscriber, which is when an
 * adapter must (un)subscribe on the broker.
 */
export class TopicRegistry<S extends object> {
  private readonly topics = new Map<string, Set<S>>();
  private readonly memberships = new Map<S, Set<string>>();

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
    let own = this.memberships.get(subscriber);
    if (own === undefined) {
      own = new Set();
      this.memberships.set(subscriber, own);
    }
    own.add(topic);
    if (set.size === 1) this.onInterest(topic, true);
    return true;
  }

  /** Returns true when there was such a subscription. */
  unsubscribe(subscriber: S, topic: string): boolean {
    const set = this.topics.get(topic);
    if (set === undefined || !set.delete(subscriber)) return false;
    const own = this.memberships.get(subscriber)!;
    own.delete(topic);
    if (own.size === 0) this.memberships.delete(subscriber);
    if (set.size === 0) {
      this.topics.delete(topic);
      this.onInterest(topic, false);
    }
    return true;
  }

  /** Remove every subscription of a connection (it closed). */
  removeAll(subscriber: S): void {
    const own = this.memberships.get(subscriber);
    if (own === undefined) return;
    for (const topic of [...own]) this.unsubscribe(subscriber, topic);
  }

  isSubscribed(subscriber: S, topic: string): boolean {
    return this.memberships.get(subscriber)?.has(topic) ?? false;
  }

  /** The topics of one subscriber (a copy). */
  topicsOf(subscriber: S): Set<string> {
    return new Set(this.memberships.get(subscriber));
  }

  /** Does this subscriber have any topic? */
  hasTopics(subscriber: S): boolean {
    return this.memberships.has(subscriber);
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
