// TopicRegistry on its own, with plain subscriber objects: the return values
// of subscribe/unsubscribe, each side's bookkeeping (the topic's subscriber
// set, the subscriber's own topic set), and the interest callback, which
// must fire exactly when a topic gains its first or loses its last
// subscriber (the adapter (un)subscribes on the broker then). The server-level
// behaviour (publish, cleanup on close) is in topics.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TopicRegistry } from '../../src/pubsub/topic-registry.js';

interface Sub {
  name: string;
  _topics: Set<string> | null;
}

const sub = (name: string): Sub => ({ name, _topics: null });

/** A registry whose interest changes are logged as 'topic+' / 'topic-'. */
function registry() {
  const interest: string[] = [];
  const reg = new TopicRegistry<Sub>((topic, interested) => interest.push(`${topic}${interested ? '+' : '-'}`));
  const names = (topic: string): string[] | undefined => {
    const set = reg.subscribers(topic);
    return set && [...set].map((s) => s.name);
  };
  return { reg, interest, names };
}

const own = (s: Sub): string[] | null => (s._topics === null ? null : [...s._topics]);

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

  it("the subscriber's own topic set is created on its first subscription and follows it", () => {
    const { reg } = registry();
    const a = sub('a');
    assert.equal(a._topics, null);
    reg.subscribe(a, 'x');
    const set = a._topics;
    assert.deepEqual(own(a), ['x']);
    reg.subscribe(a, 'y');
    reg.subscribe(a, 'x');
    assert.equal(a._topics, set, 'the same set, not a new one per subscription');
    assert.deepEqual(own(a), ['x', 'y']);
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
    assert.equal(b._topics, null);
    assert.deepEqual(names('news'), ['a']);
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

  it("removes the topic from the subscriber's own set, which stays (empty) until removeAll", () => {
    // pubsub.ts takes `_topics === null` to mean "no close listener yet":
    // emptying the set by unsubscribing must not reset it to null.
    const { reg } = registry();
    const a = sub('a');
    reg.subscribe(a, 'x');
    reg.subscribe(a, 'y');
    const set = a._topics;
    reg.unsubscribe(a, 'x');
    assert.deepEqual(own(a), ['y']);
    reg.unsubscribe(a, 'y');
    assert.equal(a._topics, set);
    assert.deepEqual(own(a), []);
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
    const { reg, interest, names } = registry();
    const [a, b] = [sub('a'), sub('b')];
    for (const topic of ['z', 'y', 'x']) reg.subscribe(a, topic);
    reg.subscribe(b, 'y');
    interest.length = 0;
    reg.removeAll(a);
    assert.deepEqual(interest, ['z-', 'x-']);
    assert.equal(a._topics, null);
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
    assert.equal(a._topics, null);
    reg.removeAll(b);
    reg.removeAll(b);
    assert.deepEqual(interest, ['t+', 't-']);
    assert.deepEqual([...reg.topicNames()], []);
  });

  it('a subscriber emptied by unsubscribe is reset to null by removeAll, with no interest event', () => {
    const { reg, interest } = registry();
    const a = sub('a');
    reg.subscribe(a, 't');
    reg.unsubscribe(a, 't');
    reg.removeAll(a);
    assert.equal(a._topics, null);
    assert.deepEqual(interest, ['t+', 't-']);
  });

  it('after removeAll the same subscriber can subscribe again, with a new own set', () => {
    const { reg, interest } = registry();
    const a = sub('a');
    reg.subscribe(a, 't');
    const first = a._topics;
    reg.removeAll(a);
    assert.equal(reg.subscribe(a, 't'), true);
    assert.notEqual(a._topics, first);
    assert.deepEqual(own(a), ['t']);
    assert.deepEqual(interest, ['t+', 't-', 't+']);
  });
});

describe('TopicRegistry: consistency seen from the outside', () => {
  it('the interest callback sees the registry and the subscriber already updated', () => {
    const seen: string[] = [];
    const a = sub('a');
    const reg: TopicRegistry<Sub> = new TopicRegistry<Sub>((topic, interested) => {
      seen.push(`${topic}${interested ? '+' : '-'} count=${reg.subscriberCount(topic)} listed=${[...reg.topicNames()].includes(topic)} own=${a._topics?.has(topic) ?? 'null'}`);
    });
    reg.subscribe(a, 't');
    reg.unsubscribe(a, 't');
    reg.subscribe(a, 'u');
    reg.removeAll(a);
    assert.deepEqual(seen, [
      't+ count=1 listed=true own=true',
      't- count=0 listed=false own=false',
      'u+ count=1 listed=true own=true',
      'u- count=0 listed=false own=false',
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
