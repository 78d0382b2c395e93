import type { Queue } from 'bullmq';
import type { Metrics } from '../metrics.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import { eventTypeLabel, type MeetingEvent } from './event-schema.js';

/** The answer to a batch of events (`POST /v1/events`, `automod events add`). */
export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Ids of every event given, in order (generated ones included). */
  ids: string[];
}

/**
 * Puts validated events on the `events` queue, dropping those whose id was seen within the dedup
 * window. Job name = event type, job data = the event: the same contract direct producers follow.
 */
export function createIngest(deps: { redis: RedisClient; keys: Keys; queue: Queue; dedupSeconds: number; metrics?: Metrics | undefined }) {
  const { redis, keys, queue, dedupSeconds, metrics } = deps;

  async function ingest(events: readonly MeetingEvent[]): Promise<IngestResult> {
    const fresh: MeetingEvent[] = [];
    const seenInBatch = new Set<string>();
    const pipeline = redis.pipeline();
    for (const event of events) pipeline.set(keys.eventSeen(event.id), '1', 'EX', dedupSeconds, 'NX');
    const replies = (await pipeline.exec()) ?? [];
    events.forEach((event, i) => {
      const [err, reply] = replies[i] ?? [null, null];
      if (err) throw err;
      if (reply === 'OK' && !seenInBatch.has(event.id)) fresh.push(event);
      seenInBatch.add(event.id);
    });
    if (fresh.length > 0) {
      try {
        await queue.addBulk(fresh.map((event) => ({ name: event.type, data: event })));
      } catch (err) {
        // Not queued means not seen: let the producer's retry through.
        await redis.del(...fresh.map((e) => keys.eventSeen(e.id))).catch(() => undefined);
        throw err;
      }
      for (const event of fresh) metrics?.eventsReceived.inc({ type: eventTypeLabel(event.type) });
    }
    const duplicates = events.length - fresh.length;
    if (duplicates > 0) metrics?.duplicateEvents.inc(duplicates);
    return { accepted: fresh.length, duplicates, ids: events.map((e) => e.id) };
  }

  return { ingest };
}

export type Ingest = ReturnType<typeof createIngest>;
