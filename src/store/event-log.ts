import { partitionOf } from '../shared/partitions.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** One processed event and what the rules decided about it. */
export interface EventLogEntry {
  event: object;
  hits: readonly { rule: string; mode: string; action: string }[];
  rulesVersion: string;
}

/** An entry as read back, with the stream id of its batch and the time it was logged. */
export interface EventLogRecord {
  /** The stream entry that holds it (entries logged together share one). */
  id: string;
  /** When the entry was logged (ms since the epoch, from the stream id). */
  at: number;
  event: Record<string, unknown>;
  hits: { rule: string; mode: string; action: string }[];
  rulesVersion: string;
}

/**
 * The processed-event log that backtests replay; a stream trimmed by age and by count. Entries logged together
 * share one stream entry, as one `b` field holding them all (a JSON array): a batch costs Redis one
 * XADD of one value, not one per event. Entries written one `e` field each are read too.
 */
export interface EventLog {
  /** Whether logging is on (retention above zero). */
  readonly enabled: boolean;
  /** Logs entries in one round trip and one stream entry (nothing when logging is off). */
  appendMany(entries: readonly EventLogEntry[]): Promise<void>;
  /**
   * Entries logged from `since` to `until` (ms, inclusive), oldest first, reading `count` stream
   * entries (batches) per round trip (default 20).
   */
  read(range: { since: number; until?: number; count?: number }): AsyncIterable<EventLogRecord>;
}

/** Options of `createEventLog`. */
export interface EventLogOptions {
  redis: RedisClient;
  keys: Keys;
  /** Hours kept (`AUTOMOD_EVENT_LOG_HOURS`); 0 turns logging off. */
  retentionHours: number;
  /**
   * Events kept at most (`AUTOMOD_EVENT_LOG_MAX_ENTRIES`), whatever their age. Default: no cap
   * beyond the hours.
   */
  maxEvents?: number;
  now?: () => number;
}

/** Creates the processed-event log. */
export function createEventLog({ redis, keys, retentionHours, maxEvents, now = Date.now }: EventLogOptions): EventLog {
  const retentionMs = Math.max(0, Math.floor(retentionHours * 3_600_000));
  const enabled = retentionMs > 0;
  // One stream per partition (the session's tag): with one stream every XADD of the deployment
  // would land on one Redis Cluster shard. Readers merge the partitions' streams by time.
  const streams = keys.all().map((pk) => pk.eventLog());
  // The cap counts events, but a stream entry holds a whole batch and XTRIM counts entries: trim to
  // the cap divided by this process's average batch size (moving average), so the kept events stay
  // near the cap whether events arrive one by one or 500 at a time. Each partition keeps its share.
  let averageBatch = 0;
  const capPerStream = maxEvents === undefined ? undefined : Math.max(1, Math.ceil(maxEvents / streams.length));

  async function appendTo(key: string, entries: readonly EventLogEntry[]): Promise<void> {
    // Ids are Redis' own time (`*`), so the log is ordered by when events were processed and no
    // two workers can collide. MINID drops entries past retention; the key TTL makes the whole
    // stream vanish once logging stops or is turned off.
    const minId = Math.max(0, now() - retentionMs);
    const pipeline = redis.pipeline();
    pipeline.xadd(key, 'MINID', '~', minId, '*', 'b', JSON.stringify(entries));
    if (capPerStream !== undefined) {
      averageBatch = averageBatch === 0 ? entries.length : averageBatch * 0.9 + entries.length * 0.1;
      // One XADD takes one trimming strategy: age goes with it, the count in an XTRIM beside it.
      pipeline.xtrim(key, 'MAXLEN', '~', Math.max(1, Math.ceil(capPerStream / averageBatch)));
    }
    pipeline.pexpire(key, retentionMs);
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  async function* readStream(key: string, since: number, until: number | undefined, count: number): AsyncGenerator<EventLogRecord> {
    const page = Math.min(Math.max(1, Math.floor(count)), 10_000);
    let start = String(Math.max(0, Math.floor(since)));
    const end = until === undefined ? '+' : String(Math.max(0, Math.floor(until)));
    for (;;) {
      const entries = await redis.xrange(key, start, end, 'COUNT', page);
      for (const [id, fields] of entries) yield* parseEntry(id, fields);
      const last = entries.at(-1);
      if (!last || entries.length < page) return;
      start = `(${last[0]}`;
    }
  }

  return {
    enabled,

    async appendMany(entries) {
      if (!enabled || entries.length === 0) return;
      if (streams.length === 1) return appendTo(streams[0]!, entries);
      const byStream = new Map<number, EventLogEntry[]>();
      for (const e of entries) {
        const sessionId = (e.event as { sessionId?: unknown }).sessionId;
        const k = partitionOf(typeof sessionId === 'string' ? sessionId : '', streams.length);
        const list = byStream.get(k);
        if (list) list.push(e);
        else byStream.set(k, [e]);
      }
      await Promise.all([...byStream].map(([k, list]) => appendTo(streams[k]!, list)));
    },

    async *read({ since, until, count = 20 }) {
      if (streams.length === 1) return yield* readStream(streams[0]!, since, until, count);
      // Merge by stream id (the time Redis logged the batch), oldest first.
      const readers = streams.map((key) => readStream(key, since, until, count));
      const heads = await Promise.all(readers.map((r) => r.next()));
      for (;;) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) {
          const head = heads[i]!;
          if (head.done) continue;
          if (best < 0 || compareIds(head.value.id, (heads[best]!.value as EventLogRecord).id) < 0) best = i;
        }
        if (best < 0) return;
        yield heads[best]!.value as EventLogRecord;
        heads[best] = await readers[best]!.next();
      }
    },
  };
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

/** The records of one stream entry (a `b` batch, or `e` fields one each); unreadable ones are skipped. */
function* parseEntry(id: string, fields: string[]): Generator<EventLogRecord> {
  const at = Number(id.slice(0, id.indexOf('-')));
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'e' && fields[i] !== 'b') continue;
    let value: unknown;
    try {
      value = JSON.parse(fields[i + 1]!);
    } catch {
      continue;
    }
    for (const item of fields[i] === 'b' && Array.isArray(value) ? value : [value]) {
      const entry = item as Partial<EventLogEntry> | null;
      if (!entry || typeof entry.event !== 'object' || entry.event === null) continue;
      yield {
        id,
        at,
        event: entry.event as Record<string, unknown>,
        hits: Array.isArray(entry.hits) ? entry.hits : [],
        rulesVersion: typeof entry.rulesVersion === 'string' ? entry.rulesVersion : '',
      };
    }
  }
}
