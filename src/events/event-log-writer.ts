import type { Logger } from '../shared/logger.js';
import type { EventLog, EventLogEntry } from '../store/event-log.js';

/** Longest an entry waits to go out with others. */
const FLUSH_MS = 10;
/** Entries sent in one stream entry at most; that many waiting go out at once. */
const BATCH = 500;
/** Entries kept while Redis does not take them; beyond that the oldest are dropped (and logged). */
const MAX_PENDING = 20_000;

/**
 * The processed-event log written in the background: a batch job's entries (and those of every
 * job finishing meanwhile) wait at most `FLUSH_MS` and go out together as one stream entry, so the
 * events hot path spends no round trip on them. Entries Redis refused are tried again with the
 * next batch, up to `MAX_PENDING`.
 */
export function createEventLogWriter(eventLog: EventLog, logger: Logger) {
  let pending: EventLogEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return sending;
    const batch = pending.length <= BATCH ? pending : pending.slice(0, BATCH);
    pending = pending.length <= BATCH ? [] : pending.slice(BATCH);
    if (pending.length > 0) timer = setTimeout(flush, 0).unref();
    sending = sending.then(() =>
      eventLog.appendMany(batch).catch((err: unknown) => {
        // Put back in front; the next entry (or the retry timer) sends them again.
        pending = [...batch, ...pending];
        const dropped = pending.length - MAX_PENDING;
        if (dropped > 0) pending.splice(0, dropped);
        logger.error({ err, waiting: pending.length, dropped: Math.max(0, dropped) }, 'could not write the event log; will try again');
        timer ??= setTimeout(flush, 1000).unref();
      }),
    );
    return sending;
  };

  const queued = (): void => {
    if (pending.length >= BATCH) void flush();
    else timer ??= setTimeout(flush, FLUSH_MS).unref();
  };

  return {
    /** Logs one event's entry (nothing when logging is off). */
    add(entry: EventLogEntry): void {
      if (!eventLog.enabled) return;
      pending.push(entry);
      queued();
    },
    /** Logs the entries of a batch job, in order. */
    addMany(entries: readonly EventLogEntry[]): void {
      if (!eventLog.enabled || entries.length === 0) return;
      for (const entry of entries) pending.push(entry);
      queued();
    },
    /** Sends what waits now, once, and resolves when every batch sent so far is done (or refused). */
    async flush(): Promise<void> {
      const batches = Math.ceil(pending.length / BATCH);
      for (let i = 0; i < batches && pending.length > 0; i++) await flush();
      await sending;
    },
  };
}
