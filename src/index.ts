/**
 * The package's library entry (`import { createProducer, partitionOf } from 'meeting-automod'`):
 * what a Node producer needs to put meeting events on the worker's queues.
 */
export { createProducer, BATCH_JOB, EVENTS_QUEUE, type AddResult, type Producer, type ProducerOptions } from './events/producer.js';
export type { BanCheck } from './store/bans.js';
export type { GateAnswer } from './store/lockdowns.js';
export { partitionOf, fnv1a32 } from './shared/partitions.js';
export { GateUnavailableError, InvalidEventError, QueueAddError, type Problem } from './shared/errors.js';
export type { MeetingEvent } from './shared/event-schema.js';
