import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { ApiAttempt } from '../videosdk/client.js';
import type { RedisClient } from './redis.js';

/** One call to the VideoSDK API, as recorded with a removal (the client's own attempt record). */
export type ApiAttemptRecord = ApiAttempt;

/** One line of the audit trail: a decision, a removal, or an operator or rules action. */
export interface AuditRecord {
  /** ISO time of what is recorded; also the time of the stream entry id. */
  at: string;
  kind: 'rule-hit' | 'removal' | 'rules-reload' | 'pause' | 'resume' | 'dead-letter' | (string & {});
  sessionId?: string;
  participantId?: string;
  meetingId?: string;
  rule?: string;
  mode?: 'enforce' | 'shadow';
  action?: string;
  outcome?: 'removed' | 'already-gone' | 'rejected' | 'failed' | 'skipped-shadow' | 'flagged' | 'queued' | 'collapsed' | (string & {});
  eventId?: string;
  jobId?: string;
  reason?: string;
  requestedBy?: string;
  rulesVersion?: string;
  attempts?: ApiAttemptRecord[];
  detail?: Record<string, unknown>;
}

/** What `query` selects; every given field must match. */
export interface AuditFilter {
  sessionId?: string;
  participantId?: string;
  rule?: string;
  mode?: string;
  kind?: string;
  outcome?: string;
  jobId?: string;
  /** Earliest record time, ms since the epoch, inclusive. */
  since?: number;
  /** Latest record time, ms since the epoch, inclusive. */
  until?: number;
  /** Most records answered: default 100, at most 1000. */
  limit?: number;
}

/** The audit trail: a capped Redis stream, newest entries kept. */
export interface AuditStore {
  /** Appends a record; answers its stream entry id. */
  append(record: AuditRecord): Promise<string>;
  /** Records matching the filter, newest first. */
  query(filter?: AuditFilter): Promise<AuditRecord[]>;
  /**
   * Every record matching the filter (its `limit` ignored), newest first, read page by page: for
   * summaries that must see more than one query's worth (the trail itself is capped).
   */
  scan(filter?: Omit<AuditFilter, 'limit'>): AsyncIterable<AuditRecord>;
}

/** Options of `createAuditStore`. */
export interface AuditStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** Records kept (approximately: trimming works on whole stream nodes). */
  maxRecords: number;
  /**
   * Most entries one `query` reads before it stops, so a filter that matches little never scans
   * the whole trail. Default 20000.
   */
  maxScan?: number;
  /** Clock for records whose `at` is not a valid date. */
  now?: () => number;
}

/** Default and largest `limit` of a query. */
export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

// Stream ids grow even when records arrive slightly out of time order (commands/includes/append-audit.lua).
const APPEND = luaScript('append-audit-1');

/** How far past `until` a query looks, for records whose id was moved forward (see APPEND). */
const ID_SLACK_MS = 60_000;
const PAGE = 250;

/** Creates the audit store. */
export function createAuditStore({ redis, keys, maxRecords, maxScan = 20_000, now = Date.now }: AuditStoreOptions): AuditStore {
  const appendArgs = (record: AuditRecord): (string | number)[] => {
    const parsed = Date.parse(record.at);
    const ms = Number.isNaN(parsed) || parsed < 0 ? now() : parsed;
    return [ms, maxRecords, JSON.stringify(record)];
  };
  return {
    async append(record) {
      return String(await APPEND.run(redis, [keys.audit()], appendArgs(record)));
    },

    async query(filter = {}) {
      const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? AUDIT_DEFAULT_LIMIT)), AUDIT_MAX_LIMIT);
      const since = filter.since;
      const until = filter.until;
      const records: AuditRecord[] = [];
      let end = until === undefined ? '+' : String(Math.max(0, Math.floor(until) + ID_SLACK_MS));
      const start = since === undefined ? '-' : String(Math.max(0, Math.floor(since)));
      let scanned = 0;
      while (records.length < limit && scanned < maxScan) {
        const page = await redis.xrevrange(keys.audit(), end, start, 'COUNT', PAGE);
        for (const [, fields] of page) {
          const record = parseRecord(fields);
          if (record && matches(record, filter)) {
            records.push(record);
            if (records.length >= limit) break;
          }
        }
        scanned += page.length;
        const last = page.at(-1);
        if (!last || page.length < PAGE) break;
        end = `(${last[0]}`;
      }
      return records;
    },

    async *scan(filter = {}) {
      let end = filter.until === undefined ? '+' : String(Math.max(0, Math.floor(filter.until) + ID_SLACK_MS));
      const start = filter.since === undefined ? '-' : String(Math.max(0, Math.floor(filter.since)));
      for (;;) {
        const page = await redis.xrevrange(keys.audit(), end, start, 'COUNT', PAGE);
        for (const [, fields] of page) {
          const record = parseRecord(fields);
          if (record && matches(record, filter)) yield record;
        }
        const last = page.at(-1);
        if (!last || page.length < PAGE) return;
        end = `(${last[0]}`;
      }
    },
  };
}

function parseRecord(fields: string[]): AuditRecord | undefined {
  const at = fields.indexOf('r');
  const raw = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return value && typeof value === 'object' && typeof (value as AuditRecord).at === 'string' ? (value as AuditRecord) : undefined;
  } catch {
    return undefined;
  }
}

function matches(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.sessionId !== undefined && record.sessionId !== filter.sessionId) return false;
  if (filter.participantId !== undefined && record.participantId !== filter.participantId) return false;
  if (filter.rule !== undefined && record.rule !== filter.rule) return false;
  if (filter.mode !== undefined && record.mode !== filter.mode) return false;
  if (filter.kind !== undefined && record.kind !== filter.kind) return false;
  if (filter.outcome !== undefined && record.outcome !== filter.outcome) return false;
  if (filter.jobId !== undefined && record.jobId !== filter.jobId) return false;
  if (filter.since !== undefined || filter.until !== undefined) {
    const t = Date.parse(record.at);
    if (filter.since !== undefined && !(t >= filter.since)) return false;
    if (filter.until !== undefined && !(t <= filter.until)) return false;
  }
  return true;
}
