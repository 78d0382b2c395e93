import { InvalidEventError } from '../shared/errors.js';
import { partitionOf } from '../shared/partitions.js';
import type { Keys } from './keys.js';
import { createLayouts, windowMs, type Layout } from './counter-layout.js';
import { luaScript } from './lua-script.js';
import { createTickBatcher } from './tick-batcher.js';
import type { RedisClient } from './redis.js';
import { DEFAULT_CLOCK_SKEW_SECONDS, type CounterSpec, type RuleHitSpec } from '../moderation/types.js';

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

// Both scripts take every key they touch in KEYS (Redis Cluster routes by them); see their headers.
const OBSERVE = luaScript('observe-events-n');
const RECORD_STRIKES = luaScript('record-strikes-n');

/**
 * One event's part of an OBSERVE run, and how to read its answer. Its keys are named here and given
 * an index in the run's KEYS when the run is built.
 */
interface Observation {
  /** The partition of the event's session: its keys (and its run) are under that hash tag. */
  partition: number;
  id: string;
  /** The marker's owner ('' without a marker). */
  owner: string;
  t: number;
  trimFrom: number;
  /** Marker TTL in seconds (0: no marker). */
  ttl: number;
  type: string;
  layout: Layout;
  /** The marker key, the strikes key, then a key per counter set and per hit set of the layout ('' = none). */
  keys: string[];
}

/** Creates the counter store. */
export function createCounterStore({ redis, keys, clockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS }: CounterStoreOptions): CounterStore {
  const skewMs = windowMs(clockSkewSeconds);
  const layoutFor = createLayouts();

  // One script run for a partition's observations: every event names its keys by index in KEYS
  // (see the script's header).
  const runPartition = async (partition: number, batch: readonly Observation[]): Promise<ObservedCounts[]> => {
    const redisKeys = [keys.partition(partition).listsVersion()];
    // A session's sets serve many events of a run: they go once. Markers, strikes and participants'
    // sets are nearly always the event's own: sent as they come, without a look-up.
    const index = new Map<string, number>();
    const shared = (key: string): number => {
      if (key === '') return 0;
      let i = index.get(key);
      if (i === undefined) {
        i = redisKeys.push(key);
        index.set(key, i);
      }
      return i;
    };
    const own = (key: string): number => (key === '' ? 0 : redisKeys.push(key));
    const plans: unknown[] = [];
    const planOf = new Map<Layout, Map<string, number>>();
    const planIndex = (o: Observation): number => {
      let byType = planOf.get(o.layout);
      if (byType === undefined) planOf.set(o.layout, (byType = new Map()));
      let i = byType.get(o.type);
      if (i === undefined) {
        i = plans.length;
        byType.set(o.type, i);
        const { strikeWindowsMs, sets, hitSets } = o.layout;
        // The event is recorded in the sets of its own type; sets of other types are only read.
        plans.push([
          strikeWindowsMs,
          sets.map((s) => [s.type === o.type ? 1 : 0, s.windowsMs.length, s.keepMs]),
          hitSets.map((h) => h.windowsMs.length),
        ]);
      }
      return i;
    };
    const flat: (number | string)[] = [];
    const args: string[] = [''];
    for (const o of batch) {
      const { layout, keys: k, t } = o;
      flat.push(planIndex(o), String(t), o.ttl, own(k[0]!), own(k[1]!));
      // Counts in (t - w, t] (the script makes the strikes' bounds itself, for the few who have any).
      for (let i = 0; i < layout.sets.length; i++) {
        const set = layout.sets[i]!;
        const key = set.scope === 'session' ? shared(k[2 + i]!) : own(k[2 + i]!);
        flat.push(key);
        if (key === 0) continue;
        if (set.type === o.type) flat.push(String(o.trimFrom - set.longestMs));
        for (const w of set.windowsMs) flat.push(`(${t - w}`);
      }
      const hitsFrom = 2 + layout.sets.length;
      for (let i = 0; i < layout.hitSets.length; i++) {
        const key = own(k[hitsFrom + i]!);
        flat.push(key);
        if (key !== 0) for (const w of layout.hitSets[i]!.windowsMs) flat.push(`(${t - w}`);
      }
      args.push(o.id);
    }
    for (const o of batch) args.push(o.owner);
    args[0] = JSON.stringify([plans, flat]);
    const reply = (await OBSERVE.run(redis, redisKeys, args)) as number[];
    const listsVersion = Number(reply[0] ?? 0);
    let at = 1;
    return batch.map((o) => {
      if (reply[at++] === -1) return { eventCounts: {}, strikes: {}, ruleHits: {}, listsVersion, alreadyDone: true };
      // Copies of the layout's answer shape, filled in place: one object shape per layout.
      const shape = o.layout.shape(o.keys, 2);
      // Strike windows name their counts by numbers ("300"): V8 keeps such keys in a slow
      // dictionary, costly to build per event. Most participants have no strikes: they share one.
      let strikes = shape.noStrikes as Record<string, number>;
      const names = o.layout.strikeNames;
      for (let i = 0; i < names.length; i++) {
        if (reply[at + i] === 0) continue;
        strikes = { ...shape.noStrikes };
        for (let j = 0; j < names.length; j++) strikes[names[j]!] = reply[at + j]!;
        break;
      }
      at += names.length;
      const eventCounts = { ...shape.eventCounts };
      for (const key of shape.countKeys) eventCounts[key] = reply[at++] ?? 0;
      const ruleHits = { ...shape.ruleHits };
      for (const key of shape.hitKeys) ruleHits[key] = reply[at++] ?? 0;
      return { eventCounts, strikes, ruleHits, listsVersion, alreadyDone: false };
    });
  };

  // Concurrent jobs share one script run per partition: the per-command cost (client and server) is
  // paid once. An item is a group of observations (one event, or a batch job's events) never split.
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

  const observation = ({ event, specs, strikeWindows, ruleHits = [], receivedAt, marker }: ObserveInput): Observation => {
    const t = eventTime(event);
    const layout = layoutFor(specs, strikeWindows, ruleHits);
    const participant = event.participantId !== undefined && event.participantId !== '' ? event.participantId : undefined;
    const meeting = event.meetingId ?? event.sessionId;
    const partition = keys.partitions === 1 ? 0 : partitionOf(event.sessionId, keys.partitions);
    const pk = keys.partition(partition);
    const eventKeys = [marker?.key ?? '', participant === undefined ? '' : pk.strikes(meeting, participant)];
    // A participant is counted within one meeting (as strikes are); a session as a whole.
    for (const set of layout.sets) {
      if (set.scope === 'participant')
        eventKeys.push(participant === undefined ? '' : pk.eventCounter('participant', set.type, meeting, participant));
      else eventKeys.push(event.sessionId === '' ? '' : pk.eventCounter('session', set.type, event.sessionId));
    }
    for (const set of layout.hitSets) eventKeys.push(participant === undefined ? '' : pk.ruleHits(meeting, participant, set.rule));
    return {
      partition,
      id: event.id,
      owner: marker?.owner ?? '',
      t,
      // Trimmed from no later than the receipt: a time ahead of it must not empty the window.
      trimFrom: receivedAt === undefined ? t : Math.min(t, receivedAt),
      ttl: marker !== undefined ? Math.max(1, Math.floor(marker.ttlSeconds)) : 0,
      type: event.type,
      layout,
      keys: eventKeys,
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
      // Kept a clock skew longer than the windows: a hit stamped ahead must not trim ones still in a window.
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
