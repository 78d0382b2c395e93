import type { Metrics } from '../shared/metrics.js';
import type { AddResult, EventProducer } from './producer.js';
import { eventTypeLabel, type MeetingEvent } from '../shared/event-schema.js';

/** The answer to a batch of events (`POST /v1/events`, `automod events add`). */
export type IngestResult = AddResult;

/**
 * Puts validated events on the events queues through the producer (the same code as the
 * `createProducer` library): several events go at once as `batch` jobs, a single one (a webhook,
 * a one-event POST) lingers briefly to share a job with others. Answers once they are queued.
 */
export function createIngest(deps: { producer: EventProducer; metrics?: Metrics | undefined }) {
  const { producer, metrics } = deps;

  async function ingest(events: readonly MeetingEvent[]): Promise<IngestResult> {
    const duplicate = events.length === 1 ? [await producer.add(events[0]!)] : await producer.addMany(events);
    let duplicates = 0;
    events.forEach((event, i) => {
      if (duplicate[i]) duplicates++;
      else metrics?.eventsReceived.inc({ type: eventTypeLabel(event.type) });
    });
    if (duplicates > 0) metrics?.duplicateEvents.inc(duplicates);
    return { accepted: events.length - duplicates, duplicates, ids: events.map((e) => e.id) };
  }

  return { ingest, drain: () => producer.drain() };
}

export type Ingest = ReturnType<typeof createIngest>;
