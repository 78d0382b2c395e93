import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** One processed event and what the rules decided about it. */
export interface EventLogEntry {
  event: object;
  hits: { rule: string; mode: string; action: string }[];
  rulesVersion: string;
}

/** An entry as read back, with its stream id and the time it was logged. */
export interface EventLogRecord {
  id: string;
  /** When the entry was logged (ms since the epoch, from the stream id). */
  at: number;
  event: Record<string, unknown>;
  hits: { rule: string; mode: string; action: string }[];
  rulesVersion: string;
}

/** The processed-event log that backtests replay; a stream trimmed by age. */
export interface EventLog {
  /** Whether logging is on (retention above zero). */
  readonly enabled: boolean;
  /** Logs entries in one round trip (nothing when logging is off). */
  appendMany(entries: readonly EventLogEntry[]): Promise<void>;
  /**
   * Entries logged from `since` to `until` (ms, inclusive), oldest first, read in pages of `count`
   * (default 500).
   */
  read(range: { since: number; until?: number; count?: number }): AsyncIterable<EventLogRecord>;
}

/** Options of `createEventLog`. */
export interface EventLogOptions {
  redis: RedisClient;
  keys: Keys;
  /** Hours kept (`AUTOMOD_EVENT_LOG_HOURS`); 0 turns logging off. */
  retentionHours: number;
  now?: () => number;
}

/** Creates the processed-event log. */
export function createEventLog({ redis, keys, retentionHours, now = Date.now }: EventLogOptions): EventLog {
  const retentionMs = Math.max(0, Math.floor(retentionHours * 3_600_000));
  const enabled = retentionMs > 0;
  const key = keys.eventLog();

  return {
    enabled,

    async appendMany(entries) {
      if (!enabled || entries.length === 0) return;
      // Ids are Redis' own time (`*`), so the log is ordered by when events were processed and no
      // two workers can collide. MINID drops entries past retention; the key TTL makes the whole
      // stream vanish once logging stops or is turned off.
      const minId = Math.max(0, now() - retentionMs);
      const pipeline = redis.pipeline();
      for (const e of entries) pipeline.xadd(key, 'MINID', '~', minId, '*', 'e', JSON.stringify(e));
      pipeline.pexpire(key, retentionMs);
      const replies = (await pipeline.exec()) ?? [];
      const failed = replies.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    },

    async *read({ since, until, count = 500 }) {
      const page = Math.min(Math.max(1, Math.floor(count)), 10_000);
      let start = String(Math.max(0, Math.floor(since)));
      const end = until === undefined ? '+' : String(Math.max(0, Math.floor(until)));
      for (;;) {
        const entries = await redis.xrange(key, start, end, 'COUNT', page);
        for (const [id, fields] of entries) {
          const record = parseEntry(id, fields);
          if (record) yield record;
        }
        const last = entries.at(-1);
        if (!last || entries.length < page) return;
        start = `(${last[0]}`;
      }
    },
  };
}

function parseEntry(id: string, fields: string[]): EventLogRecord | undefined {
  const i = fields.indexOf('e');
  const raw = i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<EventLogEntry>;
    if (!value || typeof value.event !== 'object' || value.event === null) return undefined;
    return {
      id,
      at: Number(id.slice(0, id.indexOf('-'))),
      event: value.event as Record<string, unknown>,
      hits: Array.isArray(value.hits) ? value.hits : [],
      rulesVersion: typeof value.rulesVersion === 'string' ? value.rulesVersion : '',
    };
  } catch {
    return undefined;
  }
}
