// TopicRegistry on its own, with plain subscriber objects: the return values
// of subscribe/unsubscribe, each side's bookkeeping as seen through the
// registry (a topic's subscribers; a subscriber's topics, isSubscribed,
// hasTopics), and the interest callback, which must fire exactly when a topic
// gains its first or loses its last subscriber (the adapter (un)subscribes on
// the broker then). The registry keeps memberships itself: subscribers are
// never written to. The server-level behaviour (publish, cleanup on close) is
// in topics.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TopicRegistry } from '../../src/pubsub/topic-registry.js';

interface Sub {
  readonly name: string;
}

/** Frozen: a registry that wrote to its subscribers would throw (ES modules are strict). */
const sub = (name: string): Sub => Object.freeze({ name });

/** A registry whose interest changes are logged as 'topic+' / 'topic-'. */
function registry() {
  const interest: string[] = [];
  const reg = new TopicRegistry<Sub>((topic, interested) => interest.push(`${topic}${interested ? '+' : '-'}`));
  const names = (topic: string): string[] | undefined => {
    const set = reg.subscribers(topic);
    return set && [...set].map((s) => s.name);
  };
  /** The subscriber's topics, in subscription order, as topicsOf returns them. */
  const own = (s: Sub): string[] => [...reg.topicsOf(s)];
  return { reg, interest, names, own };
}

describe('TopicRegistry: subscribe', () => {
  it('true when new, false when repeated; interest only with the first subscriber', () => {
    const { reg, interest, names } = registry();
    const [a, b] = [sub('a'), sub('b')];
    assert.equal(reg.subscriberCount('news'), 0);
    assert.equal(reg.subscribers('news'), undefined);
    assert.equal(reg.subscribe(a, 'news'), true);
    assert.deepEqual(interest, ['news+']);
    assert.equal(reg.subscribe(a, 'news'), false);
    assert.equal(reg.subscribe(b, 'news'), true);
    assert.equal(reg.subscribe(b, 'news'), false);
    assert.deepEqual(interest, ['news+'], 'no more interest events');
    assert.equal(reg.subscriberCount('news'), 2);
    assert.deepEqual(names('news'), ['a', 'b']);
    assert.deepEqual([...reg.topicNames()], ['news']);
  });

  it("the subscriber's topics follow its subscriptions: topicsOf, isSubscribed, hasTopics", () => {
    const { reg, own } = registry();
    const a = sub('a');
    assert.equal(reg.hasTopics(a), false);
    assert.deepEqual(own(a), []);
    assert.equal(reg.isSubscribed(a, 'x'), false);
    reg.subscribe(a, 'x');
    assert.equal(reg.hasTopics(a), true);
    assert.equal(reg.isSubscribed(a, 'x'), true);
    assert.equal(reg.isSubscribed(a, 'y'), false);
    reg.subscribe(a, 'y');
    reg.subscribe(a, 'x');
    assert.deepEqual(own(a), ['x', 'y'], 'each topic once, in subscription order');
    assert.equal(reg.isSubscribed(a, 'y'), true);
  });

  it("topicsOf returns a copy: changing it changes nothing in the registry, and it does not follow later changes", () => {
    const { reg, interest, names } = registry();
    const a = sub('a');
    reg.subscribe(a, 'x');
    const copy = reg.topicsOf(a);
    assert.notEqual(reg.topicsOf(a), copy, 'a new set per call');
    copy.add('y');
    copy.delete('x');
    assert.equal(reg.isSubscribed(a, 'x'), true);
    assert.equal(reg.isSubscribed(a, 'y'), false);
    assert.deepEqual([...reg.topicsOf(a)], ['x']);
    reg.subscribe(a, 'z');
    assert.deepEqual([...copy], ['y'], 'a snapshot');
    copy.clear();
    assert.equal(reg.hasTopics(a), true);
    assert.deepEqual(names('x'), ['a']);
    assert.deepEqual(interest, ['x+', 'z+']);
    // A subscriber without topics gets an empty set it may change freely too.
    const none = reg.topicsOf(sub('b'));
    none.add('x');
    assert.equal(reg.isSubscribed(sub('b'), 'x'), false);
  });

  it('memberships are per subscriber object, not by equal contents', () => {
    const { reg, own } = registry();
    const [a, twin] = [sub('a'), sub('a')];
    reg.subscribe(a, 'x');
    assert.equal(reg.isSubscribed(twin, 'x'), false);
    assert.equal(reg.hasTopics(twin), false);
    assert.deepEqual(own(twin), []);
    assert.equal(reg.subscribe(twin, 'x'), true);
    assert.equal(reg.subscriberCount('x'), 2);
  });

  it('topics are exact strings, independent of each other', () => {
    const { reg, interest } = registry();
    const a = sub('a');
    for (const topic of ['news', 'News', 'news ', '']) assert.equal(reg.subscribe(a, topic), true, JSON.stringify(topic));
    assert.deepEqual(interest, ['news+', 'News+', 'news +', '+']);
    for (const topic of ['news', 'News', 'news ', '']) assert.equal(reg.subscriberCount(topic), 1);
    assert.deepEqual([...reg.topicNames()], ['news', 'News', 'news ', '']);
  });
});

describe('TopicRegistry: unsubscribe', () => {
  it('false for an unknown topic or a non-subscriber, with nothing changed', () => {
    const { reg, interest, names } = registry();
    const [a, b] = [sub('a'), sub('b')];
    assert.equal(reg.unsubscribe(a, 'news'), false);
    assert.equal(reg.subscribers('news'), undefined, 'no empty set left behind');
    reg.subscribe(a, 'news');
    assert.equal(reg.unsubscribe(b, 'news'), false);
    assert.equal(reg.hasTopics(b), false);
    assert.equal(reg.isSubscribed(b, 'news'), false);
    assert.equal(reg.unsubscribe(a, 'sports'), false, 'a subscriber, but not to that topic');
    assert.equal(reg.isSubscribed(a, 'news'), true);
    assert.deepEqual(names('news'), ['a']);
    assert.equal(reg.subscribers('sports'), undefined);
    assert.deepEqual(interest, ['news+']);
  });

  it('true when subscribed; interest lost only with the last subscriber, and the topic is forgotten', () => {
    const { reg, interest, names } = registry();
    const [a, b] = [sub('a'), sub('b')];
    reg.subscribe(a, 'news');
    reg.subscribe(b, 'news');
    reg.subscribe(b, 'sports');
    assert.equal(reg.unsubscribe(a, 'news'), true);
    assert.equal(reg.unsubscribe(a, 'news'), false);
    assert.deepEqual(interest, ['news+', 'sports+']);
    assert.deepEqual(names('news'), ['b']);
    assert.equal(reg.unsubscribe(b, 'news'), true);
    assert.deepEqual(interest, ['news+', 'sports+', 'news-']);
    assert.equal(reg.subscriberCount('news'), 0);
    assert.equal(reg.subscribers('news'), undefined);
    assert.deepEqual([...reg.topicNames()], ['sports']);
    assert.equal(reg.unsubscribe(b, 'news'), false);
    assert.deepEqual(interest, ['news+', 'sports+', 'news-'], 'no second loss');
  });

  it("removes the topic from the subscriber's topics; leaving the last one forgets the subscriber (hasTopics false)", () => {
    // pubsub.ts adds its 'close' listener when hasTopics is false and removes
    // it when hasTopics turns false: the membership must end exactly when the
    // last topic is left.
    const { reg, own } = registry();
    const a = sub('a');
    reg.subscribe(a, 'x');
    reg.subscribe(a, 'y');
    reg.unsubscribe(a, 'x');
    assert.deepEqual(own(a), ['y']);
    assert.equal(reg.isSubscribed(a, 'x'), false);
    assert.equal(reg.hasTopics(a), true, 'one topic left');
    reg.unsubscribe(a, 'y');
    assert.equal(reg.hasTopics(a), false);
    assert.equal(reg.isSubscribed(a, 'y'), false);
    assert.deepEqual(own(a), []);
    // A new membership starts from nothing.
    assert.equal(reg.subscribe(a, 'z'), true);
    assert.equal(reg.hasTopics(a), true);
    assert.deepEqual(own(a), ['z']);
  });

  it('interest flips every time a topic empties and fills again', () => {
    const { reg, interest } = registry();
    const [a, b] = [sub('a'), sub('b')];
    reg.subscribe(a, 't');
    reg.unsubscribe(a, 't');
    reg.subscribe(b, 't');
    reg.subscribe(a, 't');
    reg.unsubscribe(b, 't');
    reg.unsubscribe(a, 't');
    assert.deepEqual(interest, ['t+', 't-', 't+', 't-']);
  });
});

describe('TopicRegistry: removeAll', () => {
  it('removes every subscription of one subscriber; interest lost only where it was the last, in its subscription order', () => {
    const { reg, interest, names, own } = registry();
    const [a, b] = [sub('a'), sub('b')];
    for (const topic of ['z', 'y', 'x']) reg.subscribe(a, topic);
    reg.subscribe(b, 'y');
    interest.length = 0;
    reg.removeAll(a);
    assert.deepEqual(interest, ['z-', 'x-']);
    assert.equal(reg.hasTopics(a), false);
    assert.deepEqual(own(a), []);
    for (const topic of ['z', 'y', 'x']) assert.equal(reg.isSubscribed(a, topic), false, topic);
    assert.deepEqual(names('y'), ['b']);
    assert.deepEqual(own(b), ['y']);
    assert.deepEqual([...reg.topicNames()], ['y']);
    for (const topic of ['z', 'x']) assert.equal(reg.subscribers(topic), undefined);
  });

  it('does nothing for a subscriber that never subscribed, or a second time', () => {
    const { reg, interest } = registry();
    const [a, b] = [sub('a'), sub('b')];
    reg.subscribe(b, 't');
    reg.removeAll(a);
    assert.equal(reg.hasTopics(a), false);
    assert.deepEqual(interest, ['t+'], 'b untouched');
    assert.equal(reg.isSubscribed(b, 't'), true);
    reg.removeAll(b);
    assert.equal(reg.hasTopics(b), false);
    reg.removeAll(b);
    assert.deepEqual(interest, ['t+', 't-']);
    assert.deepEqual([...reg.topicNames()], []);
  });

  it('a subscriber emptied by unsubscribe is already forgotten: removeAll then does nothing, with no interest event', () => {
    const { reg, interest } = registry();
    const a = sub('a');
    reg.subscribe(a, 't');
    reg.unsubscribe(a, 't');
    reg.removeAll(a);
    assert.equal(reg.hasTopics(a), false);
    assert.deepEqual(interest, ['t+', 't-']);
  });

  it('after removeAll the same subscriber can subscribe again, starting from no topic', () => {
    const { reg, interest, own } = registry();
    const a = sub('a');
    reg.subscribe(a, 't');
    reg.subscribe(a, 'u');
    reg.removeAll(a);
    assert.equal(reg.subscribe(a, 't'), true);
    assert.equal(reg.hasTopics(a), true);
    assert.deepEqual(own(a), ['t'], 'u is not remembered');
    assert.equal(reg.isSubscribed(a, 'u'), false);
    assert.deepEqual(interest, ['t+', 'u+', 't-', 'u-', 't+']);
  });
});

describe('TopicRegistry: consistency seen from the outside', () => {
  it('the interest callback sees the registry and the subscriber already updated', () => {
    const seen: string[] = [];
    const a = sub('a');
    const reg: TopicRegistry<Sub> = new TopicRegistry<Sub>((topic, interested) => {
      seen.push(`${topic}${interested ? '+' : '-'} count=${reg.subscriberCount(topic)} listed=${[...reg.topicNames()].includes(topic)} own=${reg.isSubscribed(a, topic)} has=${reg.hasTopics(a)}`);
    });
    reg.subscribe(a, 't');
    reg.unsubscribe(a, 't');
    reg.subscribe(a, 'u');
    reg.removeAll(a);
    assert.deepEqual(seen, [
      't+ count=1 listed=true own=true has=true',
      't- count=0 listed=false own=false has=false',
      'u+ count=1 listed=true own=true has=true',
      'u- count=0 listed=false own=false has=false',
    ]);
  });

  it('subscribers leaving while a publication walks the topic are each visited once, the others still visited', () => {
    const { reg, interest } = registry();
    const subs = ['a', 'b', 'c', 'd'].map(sub);
    for (const s of subs) {
      reg.subscribe(s, 't');
      reg.subscribe(s, `own-${s.name}`);
    }
    interest.length = 0;
    const visited: string[] = [];
    // As a delivery that finds its connection gone and cleans it up at once.
    for (const s of reg.subscribers('t')!) {
      visited.push(s.name);
      if (s.name !== 'c') reg.removeAll(s);
    }
    assert.deepEqual(visited, ['a', 'b', 'c', 'd']);
    assert.deepEqual(interest, ['own-a-', 'own-b-', 'own-d-']);
    assert.equal(reg.subscriberCount('t'), 1);
    assert.deepEqual([...reg.topicNames()], ['t', 'own-c']);
  });
});
