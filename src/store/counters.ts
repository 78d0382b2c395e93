import { InvalidEventError } from '../errors.js';
import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** Which events an `eventCount` fact counts: one rule condition's params. */
export interface CounterSpec {
  type: string;
  windowSeconds: number;
  scope: 'participant' | 'session';
}

/** The part of an event the counters need. */
export interface CountedEvent {
  id: string;
  type: string;
  sessionId: string;
  meetingId?: string;
  participantId?: string;
  /** ISO time of the event; windows are measured in event time, not arrival time. */
  timestamp: string;
}

/** What `observe` computed for one event. */
export interface ObservedCounts {
  /** Keyed by `counterKey(scope, type, windowSeconds)`; only specs of this event's type appear. */
  eventCounts: Record<string, number>;
  /** Earlier enforced rule hits, keyed by `String(windowSeconds)`. */
  strikes: Record<string, number>;
  /** Version of the live lists, so the caller reloads them only when they changed. */
  listsVersion: number;
}

/** Sliding-window event counters and strike counts, both kept in Redis. */
export interface CounterStore {
  /**
   * Records the event in every counter that counts its type and returns the counts for the
   * windows asked for (this event included), the strikes of its participant and the lists version,
   * all in one round trip. Redelivering the same event id counts it once.
   */
  observe(input: {
    event: CountedEvent;
    specs: readonly CounterSpec[];
    strikeWindows: readonly number[];
  }): Promise<ObservedCounts>;
  /** Records one strike per enforced rule that fired on this event (a no-op without a participant). */
  recordStrikes(event: CountedEvent, ruleNames: readonly string[], maxWindowSeconds: number): Promise<void>;
}

/** Options of `createCounterStore`. */
export interface CounterStoreOptions {
  redis: RedisClient;
  keys: Keys;
}

/** The key of one counter in `eventCounts`; the same format as the moderation module's. */
export function counterKey(scope: 'participant' | 'session', type: string, windowSeconds: number): string {
  return `${scope}:${type}:${windowSeconds}`;
}

// Numbers go through string.format so that large millisecond values never turn into 1.7e+12.
const OBSERVE = createLuaScript(`
local function num(x) return string.format('%.0f', x) end
local t = tonumber(ARGV[1])
local id = ARGV[2]
local hasStrikes = tonumber(ARGV[3])
local nStrikeWindows = tonumber(ARGV[4])
local out = {}
local v = redis.call('GET', KEYS[1])
out[1] = tonumber(v) or 0
local a = 5
for i = 1, nStrikeWindows do
  local w = tonumber(ARGV[a]); a = a + 1
  if hasStrikes == 1 then
    out[#out + 1] = redis.call('ZCOUNT', KEYS[2], '(' .. num(t - w), '(' .. num(t))
  else
    out[#out + 1] = 0
  end
end
for k = 2 + hasStrikes, #KEYS do
  local key = KEYS[k]
  local n = tonumber(ARGV[a]); a = a + 1
  local maxW = tonumber(ARGV[a]); a = a + 1
  redis.call('ZADD', key, ARGV[1], id)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(t - maxW))
  redis.call('PEXPIRE', key, num(maxW))
  for i = 1, n do
    local w = tonumber(ARGV[a]); a = a + 1
    out[#out + 1] = redis.call('ZCOUNT', key, '(' .. num(t - w), num(t))
  end
end
return out
`);

const RECORD_STRIKES = createLuaScript(`
local t = tonumber(ARGV[1])
local maxW = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', t - maxW))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', maxW))
return 1
`);

/** Creates the counter store. */
export function createCounterStore({ redis, keys }: CounterStoreOptions): CounterStore {
  return {
    async observe({ event, specs, strikeWindows }) {
      const t = eventTime(event);
      // One sorted set per (scope, type, subject) serves every window of it: group the specs.
      const sets = new Map<string, { windows: number[]; resultKeys: string[] }>();
      for (const spec of specs) {
        if (spec.type !== event.type) continue;
        const subject = spec.scope === 'participant' ? event.participantId : event.sessionId;
        if (subject === undefined || subject === '') continue;
        const setKey = keys.eventCounter(spec.scope, spec.type, subject);
        const resultKey = counterKey(spec.scope, spec.type, spec.windowSeconds);
        const set = sets.get(setKey) ?? { windows: [], resultKeys: [] };
        if (!set.resultKeys.includes(resultKey)) {
          set.windows.push(windowMs(spec.windowSeconds));
          set.resultKeys.push(resultKey);
        }
        sets.set(setKey, set);
      }
      const strikeKeys = [...new Set(strikeWindows)];
      const hasStrikes = event.participantId !== undefined && event.participantId !== '';

      const redisKeys = [keys.listsVersion()];
      if (hasStrikes) redisKeys.push(keys.strikes(event.meetingId ?? event.sessionId, event.participantId ?? ''));
      const args: (string | number)[] = [t, event.id, hasStrikes ? 1 : 0, strikeKeys.length, ...strikeKeys.map(windowMs)];
      for (const [setKey, set] of sets) {
        redisKeys.push(setKey);
        args.push(set.windows.length, Math.max(...set.windows), ...set.windows);
      }

      const reply = (await OBSERVE.run(redis, redisKeys, args)) as number[];
      let at = 0;
      const next = (): number => Number(reply[at++] ?? 0);
      const listsVersion = next();
      const strikes: Record<string, number> = {};
      for (const w of strikeKeys) strikes[String(w)] = next();
      const eventCounts: Record<string, number> = {};
      for (const set of sets.values()) for (const key of set.resultKeys) eventCounts[key] = next();
      return { eventCounts, strikes, listsVersion };
    },

    async recordStrikes(event, ruleNames, maxWindowSeconds) {
      if (event.participantId === undefined || event.participantId === '' || ruleNames.length === 0) return;
      const t = eventTime(event);
      const key = keys.strikes(event.meetingId ?? event.sessionId, event.participantId);
      // One member per (event, rule): a redelivered event does not add strikes twice.
      await RECORD_STRIKES.run(redis, [key], [t, windowMs(maxWindowSeconds), ...ruleNames.map((rule) => `${event.id}:${rule}`)]);
    },
  };
}

function eventTime(event: CountedEvent): number {
  const t = Date.parse(event.timestamp);
  if (Number.isNaN(t)) throw new InvalidEventError([{ path: 'timestamp', message: 'is not a valid date' }]);
  return t;
}

// Windows below 1 ms would make an empty range and a zero PEXPIRE (which deletes the key).
function windowMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}
