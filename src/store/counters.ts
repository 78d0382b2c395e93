import { InvalidEventError } from '../shared/errors.js';
import { partitionOf } from '../shared/partitions.js';
import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
import { createTickBatcher } from './tick-batcher.js';
import type { RedisClient } from './redis.js';
import { counterKey, DEFAULT_CLOCK_SKEW_SECONDS, ruleHitsKey, type CounterSpec, type RuleHitSpec } from '../moderation/types.js';

/** The part of an event the counters need. */
export interface CountedEvent {
  id: string;
  type: string;
  sessionId: string;
  meetingId?: string;
  participantId?: string;
  /**
   * ISO time of the event; windows are measured in event time, not arrival time (an event whose
   * time was too far from its receipt already carries the receipt time: `parseEvent`'s skew check).
   */
  timestamp: string;
}

/** What `observe` computed for one event. */
export interface ObservedCounts {
  /** Keyed by `counterKey(spec)` (moderation/types.ts), one per spec asked for (with a subject). */
  eventCounts: Record<string, number>;
  /** Enforced rule hits of earlier events (equal times included), keyed by `String(windowSeconds)`. */
  strikes: Record<string, number>;
  /** Hits of counted rules from earlier events (equal times included), keyed by `ruleHitsKey`. */
  ruleHits: Record<string, number>;
  /** Version of the live lists, so the caller reloads them only when they changed. */
  listsVersion: number;
  /**
   * True when `marker` was given and another owner holds it: the event is (being) processed by
   * another job, so nothing was recorded or read (the counts are empty).
   */
  alreadyDone: boolean;
}

/** An event's processing marker, taken in the same script as its counters. */
export interface EventMarker {
  key: string;
  /** Who processes the event (the events job); a redelivery of the same owner goes on. */
  owner: string;
  /** How long the marker keeps later copies of the event out (`AUTOMOD_DEDUP_SECONDS`). */
  ttlSeconds: number;
}

/** What `observe` takes for one event. */
export interface ObserveInput {
  event: CountedEvent;
  specs: readonly CounterSpec[];
  strikeWindows: readonly number[];
  /** The `ruleHits` facts to read (none when left out). */
  ruleHits?: readonly RuleHitSpec[];
  /**
   * When the worker received the event (ms): counters are trimmed from no later than this, so an
   * event stamped ahead of time (within the clock skew) cannot push the others out of a window.
   * Left out: the event's own time.
   */
  receivedAt?: number;
  /**
   * The event's processing marker: taken for `owner` when absent; when another owner holds it,
   * nothing is recorded and `alreadyDone` is set. Checked and taken in the same script, so the
   * events hot path spends no round trip of its own on it.
   */
  marker?: EventMarker;
}

/** Sliding-window event counters and strike counts, both kept in Redis. */
export interface CounterStore {
  /**
   * Records the event in every counter of `specs` that counts its type, and returns the counts of
   * every window in `specs` (this event included where it counts; a spec of another type is only
   * read), the strikes of its participant and the lists version, all in one round trip.
   * Redelivering the same event id counts it once. Callers pass the event type's `CounterPlan`.
   * Calls made in the same tick share one script run, each counted exactly as if alone.
   */
  observe(input: ObserveInput): Promise<ObservedCounts>;
  /**
   * `observe` for many events at once (a batch job's), answered in order: every one of them goes
   * in the same script run per partition (never split across ticks or chunks), so a batch of
   * events costs one round trip and one read of the lists version.
   */
  observeMany(inputs: readonly ObserveInput[]): Promise<ObservedCounts[]>;
  /**
   * Records one strike per rule of `ruleNames` (the enforced rules that fired on this event; a
   * no-op without a participant), and one hit of each rule of `counted.rules` (enforced rules that
   * a `ruleHits` counts; `counted.keep`: rule -> seconds its hits are kept).
   */
  recordStrikes(
    event: CountedEvent,
    ruleNames: readonly string[],
    maxWindowSeconds: number,
    counted?: { rules: readonly string[]; keep: ReadonlyMap<string, number> },
  ): Promise<void>;
}

/** Options of `createCounterStore`. */
export interface CounterStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /**
   * `AUTOMOD_CLOCK_SKEW_SECONDS` (default 300): strikes and rule hits are kept this much longer
   * than their windows, so a hit stamped ahead of time cannot trim away ones still in a window.
   */
  clockSkewSeconds?: number;
}

// Observes a batch of events in one run (see `createTickBatcher`), each exactly as if alone and in
// order, so concurrent events still get exact counts. KEYS: the lists version, then per event its
// marker (if any), its strikes set (if any), its counter sets and its counted rules' hit sets.
// ARGV[1]: JSON, per event [time, marker TTL seconds or 0 for none, has strikes, [strike lower
// bounds], [[record, trim bound, TTL ms, [lower bounds]] per counter set], [[lower bounds] per rule
// hit set]]; ARGV[2...]: the event ids, then the marker owners, in the same order (kept out of the
// JSON: they are producer text, and must reach Redis exactly as every other command sends them).
// One JSON argument instead of dozens keeps the command small for both sides; bounds and times are
// strings, ready for Redis. Answers the lists version, then per event -1 (another owner holds its
// marker) or 1 followed by its strike counts, its counts and its rule hit counts.
//
// Strikes and rule hits count (t - w, t]: hits of other events at the same time count, this
// event's own (there on a redelivery, as `id:rule` members and as `id`) do not.
const OBSERVE = createLuaScript(`
local batch = cjson.decode(ARGV[1])
local out = { tonumber(redis.call('GET', KEYS[1])) or 0 }
local k = 2
for n, e in ipairs(batch) do
  local id, owner, t, sets, hitSets = ARGV[n + 1], ARGV[#batch + n + 1], e[1], e[5], e[6]
  local done = false
  if e[2] > 0 then
    local holder = redis.call('GET', KEYS[k])
    if holder == false then
      redis.call('SET', KEYS[k], owner, 'EX', e[2])
    elseif holder ~= owner then
      done = true
    end
    k = k + 1
  end
  local strikesKey = false
  if e[3] == 1 then
    strikesKey = KEYS[k]
    k = k + 1
  end
  if done then
    out[#out + 1] = -1
    k = k + #sets + #hitSets
  else
    out[#out + 1] = 1
    local own = 0
    if strikesKey and #e[4] > 0 then
      local prefix = id .. ':'
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', strikesKey, t, t)) do
        if string.sub(m, 1, #prefix) == prefix and not string.find(m, ':', #prefix + 1, true) then own = own + 1 end
      end
    end
    for _, bound in ipairs(e[4]) do
      if strikesKey then
        out[#out + 1] = redis.call('ZCOUNT', strikesKey, bound, t) - own
      else
        out[#out + 1] = 0
      end
    end
    for _, set in ipairs(sets) do
      local key = KEYS[k]
      k = k + 1
      if set[1] == 1 then
        redis.call('ZADD', key, t, id)
        redis.call('ZREMRANGEBYSCORE', key, '-inf', set[2])
        redis.call('PEXPIRE', key, set[3])
      end
      for _, bound in ipairs(set[4]) do
        out[#out + 1] = redis.call('ZCOUNT', key, bound, t)
      end
    end
    for _, bounds in ipairs(hitSets) do
      local key = KEYS[k]
      k = k + 1
      local mine = redis.call('ZSCORE', key, id)
      local ownHit = (mine and tonumber(mine) == tonumber(t)) and 1 or 0
      for _, bound in ipairs(bounds) do
        out[#out + 1] = redis.call('ZCOUNT', key, bound, t) - ownHit
      end
    end
  end
end
return out
`);

/** One event's part of an OBSERVE run, and how to read its answer. */
interface Observation {
  /** The partition of the event's session: its keys (and its run) are under that hash tag. */
  partition: number;
  id: string;
  /** The marker's owner ('' without a marker). */
  owner: string;
  keys: string[];
  spec: unknown[];
  strikeWindows: readonly number[];
  /** The counter sets this event has a subject for, in the order of their counts in the answer. */
  sets: readonly Layout['sets'][number][];
  /** The counted rules' hit sets read (none without a participant), in answer order. */
  hitSets: readonly Layout['hitSets'][number][];
}

/**
 * How the counters of one (specs, strike windows) pair are read, worked out once: the sorted sets
 * (one per scope and type serves every window of it) and the result keys in answer order.
 */
interface Layout {
  strikeWindows: number[];
  sets: { scope: 'participant' | 'session'; type: string; windowsMs: number[]; longestMs: number; resultKeys: string[] }[];
  /** One sorted set per counted rule (every window of it reads the one set). */
  hitSets: { rule: string; windowsMs: number[]; resultKeys: string[] }[];
}

function layoutOf(specs: readonly CounterSpec[], strikeWindows: readonly number[], ruleHits: readonly RuleHitSpec[]): Layout {
  const hitSets: Layout['hitSets'] = [];
  for (const spec of ruleHits) {
    let set = hitSets.find((h) => h.rule === spec.rule);
    if (set === undefined) {
      set = { rule: spec.rule, windowsMs: [], resultKeys: [] };
      hitSets.push(set);
    }
    const resultKey = ruleHitsKey(spec);
    if (!set.resultKeys.includes(resultKey)) {
      set.windowsMs.push(windowMs(spec.windowSeconds));
      set.resultKeys.push(resultKey);
    }
  }
  const sets: Layout['sets'] = [];
  for (const spec of specs) {
    let set = sets.find((s) => s.scope === spec.scope && s.type === spec.type);
    if (set === undefined) {
      set = { scope: spec.scope, type: spec.type, windowsMs: [], longestMs: 0, resultKeys: [] };
      sets.push(set);
    }
    const resultKey = counterKey(spec);
    if (!set.resultKeys.includes(resultKey)) {
      set.windowsMs.push(windowMs(spec.windowSeconds));
      set.longestMs = Math.max(set.longestMs, windowMs(spec.windowSeconds));
      set.resultKeys.push(resultKey);
    }
  }
  return { strikeWindows: [...new Set(strikeWindows)], sets, hitSets };
}

// Records an event's strikes and counted rule hits. KEYS[1]: the strikes set, then one hit set per
// counted rule that fired. ARGV: the time, the strikes' trim bound and TTL (ms), the number of
// strike members, the members (`eventId:rule`), the event id, then a trim bound and TTL per hit set.
const RECORD_STRIKES = createLuaScript(`
local t = ARGV[1]
local members = tonumber(ARGV[4])
for i = 5, 4 + members do redis.call('ZADD', KEYS[1], t, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local id = ARGV[5 + members]
local a = 6 + members
for k = 2, #KEYS do
  redis.call('ZADD', KEYS[k], t, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', ARGV[a])
  redis.call('PEXPIRE', KEYS[k], ARGV[a + 1])
  a = a + 2
end
return 1
`);

/** Creates the counter store. */
export function createCounterStore({ redis, keys, clockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS }: CounterStoreOptions): CounterStore {
  const skewMs = windowMs(clockSkewSeconds);
  // Concurrent jobs share one script run per partition: the per-command cost (client and server) is
  // paid once. An item is a group of observations (one event, or a batch job's events) never split.
  const runPartition = async (partition: number, batch: readonly Observation[]): Promise<ObservedCounts[]> => {
    const redisKeys = [keys.partition(partition).listsVersion()];
    const specs: unknown[] = [];
    const args: string[] = [''];
    for (const o of batch) {
      for (const key of o.keys) redisKeys.push(key);
      specs.push(o.spec);
      args.push(o.id);
    }
    for (const o of batch) args.push(o.owner);
    args[0] = JSON.stringify(specs);
    const reply = (await OBSERVE.run(redis, redisKeys, args)) as number[];
    let at = 0;
    const next = (): number => Number(reply[at++] ?? 0);
    const listsVersion = next();
    return batch.map((o) => {
      if (next() === -1) return { eventCounts: {}, strikes: {}, ruleHits: {}, listsVersion, alreadyDone: true };
      const strikes: Record<string, number> = {};
      for (const w of o.strikeWindows) strikes[String(w)] = next();
      const eventCounts: Record<string, number> = {};
      for (const set of o.sets) for (const key of set.resultKeys) eventCounts[key] = next();
      const ruleHits: Record<string, number> = {};
      for (const set of o.hitSets) for (const key of set.resultKeys) ruleHits[key] = next();
      return { eventCounts, strikes, ruleHits, listsVersion, alreadyDone: false };
    });
  };
  const observeBatch = createTickBatcher<Observation[], ObservedCounts[]>(
    async (groups) => {
      const all = groups.flat();
      let answers: ObservedCounts[];
      if (keys.partitions === 1 || all.every((o) => o.partition === all[0]!.partition)) {
        answers = await runPartition(all[0]?.partition ?? 0, all);
      } else {
        // One run per partition (a script must not cross slots), sent together.
        const byPartition = new Map<number, number[]>();
        all.forEach((o, i) => {
          const list = byPartition.get(o.partition);
          if (list) list.push(i);
          else byPartition.set(o.partition, [i]);
        });
        answers = new Array<ObservedCounts>(all.length);
        await Promise.all(
          [...byPartition].map(async ([partition, indexes]) => {
            const out = await runPartition(
              partition,
              indexes.map((i) => all[i]!),
            );
            indexes.forEach((i, j) => (answers[i] = out[j]!));
          }),
        );
      }
      let at = 0;
      return groups.map((g) => answers.slice(at, (at += g.length)));
    },
    { maxBatch: 1000, weight: (group) => group.length },
  );
  // The worker passes the same specs array for every event of a type (the rule set's counter
  // plan), so the layout is worked out once per plan; other callers pay for it per call.
  const layouts = new WeakMap<readonly CounterSpec[], Map<string, Layout>>();
  const layoutFor = (specs: readonly CounterSpec[], strikeWindows: readonly number[], ruleHits: readonly RuleHitSpec[]): Layout => {
    let byWindows = layouts.get(specs);
    if (byWindows === undefined) {
      byWindows = new Map();
      layouts.set(specs, byWindows);
    }
    const windowsKey = `${strikeWindows.join(',')}|${ruleHits.map(ruleHitsKey).join(',')}`;
    let layout = byWindows.get(windowsKey);
    if (layout === undefined) {
      layout = layoutOf(specs, strikeWindows, ruleHits);
      byWindows.set(windowsKey, layout);
    }
    return layout;
  };

  const observation = ({ event, specs, strikeWindows, ruleHits = [], receivedAt, marker }: ObserveInput): Observation => {
    const t = eventTime(event);
    // Trimmed from no later than the receipt: a time ahead of it must not empty the window.
    const trimFrom = receivedAt === undefined ? t : Math.min(t, receivedAt);
    const layout = layoutFor(specs, strikeWindows, ruleHits);
    const participant = event.participantId !== undefined && event.participantId !== '' ? event.participantId : undefined;
    const meeting = event.meetingId ?? event.sessionId;
    const partition = keys.partitions === 1 ? 0 : partitionOf(event.sessionId, keys.partitions);
    const pk = keys.partition(partition);
    const redisKeys: string[] = [];
    if (marker !== undefined) redisKeys.push(marker.key);
    if (participant !== undefined) redisKeys.push(pk.strikes(meeting, participant));
    // Strikes in (t - w, t], less this event's own. Counts in (t - w, t]: this event included.
    const strikeBounds = layout.strikeWindows.map((w) => `(${t - windowMs(w)}`);
    const setSpecs: unknown[] = [];
    const sets: Layout['sets'][number][] = [];
    for (const set of layout.sets) {
      // A participant is counted within one meeting (as strikes are); a session as a whole.
      if (set.scope === 'participant') {
        if (participant === undefined) continue;
        redisKeys.push(pk.eventCounter('participant', set.type, meeting, participant));
      } else {
        if (event.sessionId === '') continue;
        redisKeys.push(pk.eventCounter('session', set.type, event.sessionId));
      }
      sets.push(set);
      // The event is recorded in the sets of its own type; sets of other types are only read.
      setSpecs.push([
        set.type === event.type ? 1 : 0,
        String(trimFrom - set.longestMs),
        String(set.longestMs),
        set.windowsMs.map((w) => `(${t - w}`),
      ]);
    }
    const hitSpecs: string[][] = [];
    const hitSets: Layout['hitSets'][number][] = [];
    if (participant !== undefined) {
      for (const set of layout.hitSets) {
        redisKeys.push(pk.ruleHits(meeting, participant, set.rule));
        hitSets.push(set);
        hitSpecs.push(set.windowsMs.map((w) => `(${t - w}`));
      }
    }
    const spec = [
      String(t),
      marker !== undefined ? Math.max(1, Math.floor(marker.ttlSeconds)) : 0,
      participant !== undefined ? 1 : 0,
      strikeBounds,
      setSpecs,
      hitSpecs,
    ];
    return {
      partition,
      id: event.id,
      owner: marker?.owner ?? '',
      keys: redisKeys,
      spec,
      strikeWindows: layout.strikeWindows,
      sets,
      hitSets,
    };
  };

  return {
    async observe(input) {
      return (await observeBatch([observation(input)]))[0]!;
    },

    async observeMany(inputs) {
      if (inputs.length === 0) return [];
      return observeBatch(inputs.map(observation));
    },

    async recordStrikes(event, ruleNames, maxWindowSeconds, counted) {
      const countedRules = counted?.rules ?? [];
      if (event.participantId === undefined || event.participantId === '' || (ruleNames.length === 0 && countedRules.length === 0)) return;
      const t = eventTime(event);
      const pk = keys.part(event.sessionId);
      const meeting = event.meetingId ?? event.sessionId;
      const redisKeys = [pk.strikes(meeting, event.participantId)];
      const keep = windowMs(maxWindowSeconds);
      // One member per (event, rule): a redelivered event does not add strikes twice. Kept a clock
      // skew longer than the windows: a hit stamped ahead must not trim ones still in a window.
      const args: (string | number)[] = [t, String(t - keep - skewMs), String(keep), ruleNames.length];
      for (const rule of ruleNames) args.push(`${event.id}:${rule}`);
      args.push(event.id);
      for (const rule of new Set(countedRules)) {
        const seconds = counted?.keep.get(rule);
        if (seconds === undefined) continue;
        redisKeys.push(pk.ruleHits(meeting, event.participantId, rule));
        args.push(String(t - windowMs(seconds) - skewMs), String(windowMs(seconds)));
      }
      await RECORD_STRIKES.run(redis, redisKeys, args);
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
