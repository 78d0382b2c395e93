import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildKey, createKeys, decodeKeyPart, encodeKeyPart, type Keys } from '../../src/store/keys.js';

const PREFIX = '{automod}';
const keys = createKeys(PREFIX);

// Ids drawn mostly from the characters that matter (separators, escapes and what escapes spell),
// so colliding spellings such as `a:b` / `a%3Ab` / `a%253Ab` come up often; plus any string.
const tricky = fc.string({ unit: fc.constantFrom('a', ':', '%', '{', '}', '2', '3', '5', '7', 'A', 'B', 'D'), maxLength: 5 });
const id = fc.oneof(
  { arbitrary: fc.constantFrom('a', ':', 'a:a', '%3A', '%25'), weight: 3 },
  { arbitrary: tricky, weight: 3 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);

/** Every key builder that takes ids, as (name, args) so two calls can be compared as data. */
type Call = { name: string; args: string[] };
const scope = fc.constantFrom('participant', 'session');
const call: fc.Arbitrary<Call> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('eventSeen', 'eventDone', 'jobOutcome', 'jobAttempts', 'jobRemoveSent', 'session', 'sessionRemovals', 'list'),
      id,
    )
    .map(([name, a]) => ({ name, args: [a] })),
  fc.tuple(fc.constantFrom('strikes', 'removalClaim', 'removalFence'), id, id).map(([name, a, b]) => ({ name, args: [a, b] })),
  fc
    .tuple(scope, id, fc.array(id, { minLength: 1, maxLength: 2 }))
    .map(([s, type, subject]) => ({ name: 'eventCounter', args: [s, type, ...subject] })),
  fc
    .constantFrom(
      'audit',
      'eventLog',
      'deadLetter',
      'listIndex',
      'listsVersion',
      'pause',
      'rulesChannel',
      'rulesStatus',
      'rulesReplies',
      'stats',
    )
    .map((name) => ({ name, args: [] })),
);
const keyOf = (c: Call): string => (keys[c.name as keyof Keys] as (...args: string[]) => string)(...c.args);

describe('redis keys', () => {
  it('distinct (key kind, ids) tuples never share a key', () => {
    fc.assert(
      // Many calls at once, so near-misses (same kind, ids split differently) meet often.
      fc.property(fc.array(call, { minLength: 2, maxLength: 60 }), (calls) => {
        const owner = new Map<string, string>();
        for (const c of calls) {
          const key = keyOf(c);
          const tuple = JSON.stringify(c);
          expect(owner.get(key) ?? tuple, `key ${key}`).toBe(tuple);
          owner.set(key, tuple);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the two collisions from the issue get different keys', () => {
    expect(keys.eventCounter('participant', 'chat-message', 'team', 'a:b')).not.toBe(
      keys.eventCounter('participant', 'chat-message', 'team:a', 'b'),
    );
    expect(keys.strikes('team', 'a:b')).not.toBe(keys.strikes('team:a', 'b'));
    expect(keys.removalClaim('S', 'x:y')).not.toBe(keys.removalClaim('S:x', 'y'));
    expect(keys.removalFence('S', 'x:y')).not.toBe(keys.removalFence('S:x', 'y'));
    // A session id ending in `:removals` is not the removals list of another session.
    expect(keys.session('S:removals')).not.toBe(keys.sessionRemovals('S'));
  });

  it('ids without %, :, { or } keep the keys they had before encoding', () => {
    const plain = fc.string({ maxLength: 12 }).filter((s) => !/[%:{}]/.test(s));
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        expect(keys.removalClaim(a, b)).toBe(`${PREFIX}:removal:${a}:${b}`);
        expect(keys.eventCounter('participant', a, b, a)).toBe(`${PREFIX}:count:participant:${a}:${b}:${a}`);
        expect(keys.jobOutcome(a)).toBe(`${PREFIX}:job:${a}:outcome`);
      }),
    );
    expect(keys.strikes('room-1', 'p_1')).toBe('{automod}:strikes:room-1:p_1');
    expect(keys.audit()).toBe('{automod}:audit');
  });

  it('an encoded part has no separator or hash-tag brace and decodes back to the id', () => {
    fc.assert(
      fc.property(id, (s) => {
        const encoded = encodeKeyPart(s);
        expect(encoded).not.toMatch(/[:{}]/);
        expect(decodeKeyPart(encoded)).toBe(s);
      }),
    );
    expect(encodeKeyPart('%3A:{x}')).toBe('%253A%3A%7Bx%7D');
    // Only the prefix carries a hash tag: an id cannot move a key to another Cluster slot.
    expect(keys.session('{evil}')).toBe('{automod}:session:%7Bevil%7D');
  });

  it('the prefix goes in as it is', () => {
    expect(buildKey('{p}:sub', ['a:b'])).toBe('{p}:sub:a%3Ab');
    expect(createKeys('{p}:sub').list('x')).toBe('{p}:sub:list:x');
  });
});
