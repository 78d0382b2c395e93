import { Queue, type JobsOptions } from 'bullmq';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { GateUnavailableError, InvalidEventError, QueueAddError } from '../shared/errors.js';
import { PREFIX_PATTERN } from '../shared/config.js';
import { parseEvent, parseEvents, type MeetingEvent } from '../shared/event-schema.js';
import { checkId } from '../shared/ids.js';
import { MAX_PARTITIONS, partitionOf, partitionPrefix } from '../shared/partitions.js';
import { createKeys, type Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import { banCheckOf, createBanStore, type BanCheck } from '../store/bans.js';
import { createLockdownStore, type GateAnswer } from '../store/lockdowns.js';
import { EVENTS_STREAM_MAX_LEN, retention } from '../shared/queue-policy.js';

/** Queue name (public contract) and the job name of a packed job. */
export const EVENTS_QUEUE = 'events';
export const BATCH_JOB = 'batch';
/** Defaults of `AUTOMOD_EVENT_BATCH_MAX`, `AUTOMOD_INGEST_LINGER_MS` and `AUTOMOD_DEDUP_SECONDS`. */
export const DEFAULT_BATCH_MAX = 500;
export const DEFAULT_LINGER_MS = 2;
export const DEFAULT_DEDUP_SECONDS = 300;
/** Default of `gateTimeoutMs`: how long `isBanned` and `checkGate` wait for Redis before they answer "no verdict". */
export const DEFAULT_GATE_TIMEOUT_MS = 1000;

/** What adding events answered: how many were queued, how many were duplicates, every id in order. */
export interface AddResult {
  accepted: number;
  duplicates: number;
  ids: string[];
}

/** Options of the events queue as the worker sets them (attempts, backoff, retention). */
export function eventJobOptions(keep: { hours: number; count: number } = { hours: 24, count: 10_000 }): JobsOptions {
  return {
    attempts: 3,
    backoff: { type: 'exponential', delay: 500 },
    ...retention({ jobsKeepHours: keep.hours, jobsKeepCount: keep.count }),
  };
}

/** Opens partition k's events queue: `events` with prefix `{BASE}` (one partition) or `{BASE:pK}`. */
export function openEventsQueue(
  connection: RedisClient,
  prefix: string,
  partition: number,
  partitions: number,
  jobOptions: JobsOptions = eventJobOptions(),
): Queue {
  return new Queue(EVENTS_QUEUE, {
    connection,
    prefix: partitionPrefix(prefix, partition, partitions),
    defaultJobOptions: jobOptions,
    streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } },
  });
}

export interface EventProducerDeps {
  redis: RedisClient;
  keys: Keys;
  /** One events queue per partition, index = partition. */
  queues: readonly Queue[];
  batchMax: number;
  lingerMs: number;
  /** Window of the intake seen-markers; 0 turns intake dedup off (the consumer still dedups). */
  dedupSeconds: number;
}

/**
 * Puts validated events on their partitions' events queues as `batch` jobs. `addMany` packs at
 * once (chunks of at most `batchMax`); `add` holds a single event up to `lingerMs` (or until a
 * batch is full) to share one job with others. Either answers only once its events are queued; a
 * failed add releases their seen-markers, so the producer's retry is not taken for a duplicate.
 */
export function createEventProducer(deps: EventProducerDeps) {
  const { redis, keys, queues, batchMax, lingerMs, dedupSeconds } = deps;
  const partitions = queues.length;
  type Waiting = { event: MeetingEvent; resolve: (duplicate: boolean) => void; reject: (err: unknown) => void };
  const waiting: Waiting[][] = queues.map(() => []);
  const timers: (NodeJS.Timeout | undefined)[] = queues.map(() => undefined);
  const inFlight = new Set<Promise<unknown>>();

  /** Queues events of one partition; answers, per event, whether it was a duplicate. */
  async function enqueue(partition: number, events: readonly MeetingEvent[]): Promise<boolean[]> {
    const pk = keys.partition(partition);
    const duplicate = new Array<boolean>(events.length).fill(false);
    const fresh: MeetingEvent[] = [];
    const seenInCall = new Set<string>();
    if (dedupSeconds > 0) {
      const pipeline = redis.pipeline();
      for (const event of events) pipeline.set(pk.eventSeen(event.id), '1', 'EX', dedupSeconds, 'NX');
      const replies = (await pipeline.exec()) ?? [];
      events.forEach((event, i) => {
        const [err, reply] = replies[i] ?? [null, null];
        if (err) throw err;
        if (reply === 'OK' && !seenInCall.has(event.id)) fresh.push(event);
        else duplicate[i] = true;
        seenInCall.add(event.id);
      });
    } else {
      events.forEach((event, i) => {
        if (seenInCall.has(event.id)) duplicate[i] = true;
        else fresh.push(event);
        seenInCall.add(event.id);
      });
    }
    if (fresh.length > 0) {
      const jobs: { name: string; data: { events: MeetingEvent[] } }[] = [];
      for (let i = 0; i < fresh.length; i += batchMax) jobs.push({ name: BATCH_JOB, data: { events: fresh.slice(i, i + batchMax) } });
      try {
        await queues[partition]!.addBulk(jobs);
      } catch (err) {
        // Not queued means not seen: let the producer's retry through.
        if (dedupSeconds > 0) await redis.del(...fresh.map((e) => pk.eventSeen(e.id))).catch(() => undefined);
        throw new QueueAddError(err);
      }
    }
    return duplicate;
  }

  function flush(partition: number): void {
    clearTimeout(timers[partition]);
    timers[partition] = undefined;
    const batch = waiting[partition]!.splice(0, batchMax);
    if (waiting[partition]!.length > 0) flush(partition);
    if (batch.length === 0) return;
    const sent = enqueue(
      partition,
      batch.map((w) => w.event),
    ).then(
      (duplicates) => batch.forEach((w, i) => w.resolve(duplicates[i]!)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }

  return {
    partitions,
    /** Queues one event, sharing a batch job with others added within `lingerMs`. */
    add(event: MeetingEvent): Promise<boolean> {
      const partition = partitionOf(event.sessionId, partitions);
      return new Promise<boolean>((resolve, reject) => {
        const list = waiting[partition]!;
        list.push({ event, resolve, reject });
        if (list.length >= batchMax) flush(partition);
        else if (timers[partition] === undefined) timers[partition] = setTimeout(() => flush(partition), lingerMs);
      });
    },
    /** Queues many events now, packed per partition; answers per event whether it was a duplicate. */
    async addMany(events: readonly MeetingEvent[]): Promise<boolean[]> {
      const byPartition = new Map<number, number[]>();
      events.forEach((event, i) => {
        const k = partitionOf(event.sessionId, partitions);
        const list = byPartition.get(k);
        if (list) list.push(i);
        else byPartition.set(k, [i]);
      });
      const duplicate = new Array<boolean>(events.length).fill(false);
      await Promise.all(
        [...byPartition].map(async ([k, indexes]) => {
          const answers = await enqueue(
            k,
            indexes.map((i) => events[i]!),
          );
          indexes.forEach((i, j) => (duplicate[i] = answers[j]!));
        }),
      );
      return duplicate;
    },
    /** Sends what lingers now and waits for every add in flight. */
    async drain(): Promise<void> {
      for (let k = 0; k < partitions; k++) flush(k);
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type EventProducer = ReturnType<typeof createEventProducer>;

/** Options of `createProducer`. */
export interface ProducerOptions {
  /** What ioredis takes: a URL, connection options, or a connection (a Redis or Cluster instance, left open by `close()`). */
  connection: string | RedisOptions | Redis | Cluster;
  /** The worker's `AUTOMOD_PREFIX` (plain name, default `automod`). */
  prefix?: string;
  /** The worker's `AUTOMOD_PARTITIONS` (default 1). */
  partitions?: number;
  /** Most events per batch job (`AUTOMOD_EVENT_BATCH_MAX`, default 500). */
  batchMax?: number;
  /** Longest a single `add` waits to share a job (`AUTOMOD_INGEST_LINGER_MS`, default 2). */
  lingerMs?: number;
  /** Intake dedup window (`AUTOMOD_DEDUP_SECONDS`, default 300; 0 = none: the worker still dedups). */
  dedupSeconds?: number;
  /**
   * Longest `isBanned` and `checkGate` wait for Redis (default 1000 ms) before they throw `GateUnavailableError`,
   * whatever the connection's own retry settings (a BullMQ-style `maxRetriesPerRequest: null`
   * connection would otherwise wait for Redis for ever).
   */
  gateTimeoutMs?: number;
  /**
   * Called with connection errors between calls (each reconnect while Redis is away). A call that
   * fails rejects anyway; default: ignored, where BullMQ would print each one to the console.
   */
  onError?: (err: Error) => void;
}

/** A Node producer of meeting events for the automod worker. */
export interface Producer {
  /** Validates and queues one event (micro-batched with others); answers its id and whether it was a duplicate. */
  add(event: unknown): Promise<{ id: string; duplicate: boolean }>;
  /** Validates every event first (none is queued if one is invalid), then queues them packed in batch jobs. */
  addMany(events: readonly unknown[]): Promise<AddResult>;
  /**
   * The token gate without HTTP, for servers that reach Redis: whether the participant is banned
   * from the meeting (its own ban or an every-meeting one), in one Redis round trip. Answers only
   * a verdict: when Redis fails or does not answer within `gateTimeoutMs` it throws
   * `GateUnavailableError` (code `ERR_GATE_UNAVAILABLE`), never `{banned: false}`; mint no token then.
   */
  isBanned(meetingId: string, participantId: string): Promise<BanCheck>;
  /**
   * The gate without HTTP (`GET /v1/gate`'s answer), in one Redis round trip: may the participant
   * get a join token for the meeting, and with which permission (`ask_join` while the meeting is
   * locked in `ask` mode and they are not admitted). A ban wins over an admission. Like
   * `isBanned`, throws `GateUnavailableError` when Redis fails or is silent for `gateTimeoutMs`:
   * mint no token then (fail closed).
   */
  checkGate(target: { meetingId: string; participantId: string }): Promise<GateAnswer>;
  /** Sends what still lingers, then closes the queues (and the connection, when it opened it). */
  close(): Promise<void>;
}

/**
 * Creates a producer that puts events on the worker's events queues exactly as the HTTP ingest
 * does: validated with the worker's schema (an invalid event throws `InvalidEventError` naming
 * what is wrong), routed to the session's partition, packed into `batch` jobs.
 */
export function createProducer(options: ProducerOptions): Producer {
  const prefix = options.prefix ?? 'automod';
  if (!PREFIX_PATTERN.test(prefix))
    throw new TypeError(`prefix must be a plain name of letters, digits, "_", "-" or "." (got "${prefix}")`);
  const partitions = options.partitions ?? 1;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new TypeError(`partitions must be a whole number from 1 to ${MAX_PARTITIONS} (got ${String(partitions)})`);
  }
  const gateTimeoutMs = options.gateTimeoutMs ?? DEFAULT_GATE_TIMEOUT_MS;
  if (!Number.isSafeInteger(gateTimeoutMs) || gateTimeoutMs < 1)
    throw new TypeError(`gateTimeoutMs must be a whole number of milliseconds from 1 (got ${String(gateTimeoutMs)})`);
  const batchMax = options.batchMax ?? DEFAULT_BATCH_MAX;
  if (!Number.isSafeInteger(batchMax) || batchMax < 1)
    throw new TypeError(`batchMax must be a whole number from 1 (got ${String(batchMax)})`);
  const given = typeof options.connection === 'object' && options.connection !== null && 'pipeline' in options.connection;
  const redis: RedisClient = given
    ? (options.connection as RedisClient)
    : typeof options.connection === 'string'
      ? new Redis(options.connection, { maxRetriesPerRequest: 2 })
      : new Redis({ maxRetriesPerRequest: 2, ...(options.connection as RedisOptions) });
  const onError = options.onError ?? (() => undefined);
  if (!given) redis.on('error', onError);
  const queues = Array.from({ length: partitions }, (_, k) => openEventsQueue(redis, prefix, k, partitions).on('error', onError));
  const core = createEventProducer({
    redis,
    keys: createKeys(`{${prefix}}`, partitions),
    queues,
    batchMax,
    lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
    dedupSeconds: options.dedupSeconds ?? DEFAULT_DEDUP_SECONDS,
  });
  const globalKeys = createKeys(`{${prefix}}`);
  const bans = createBanStore({ redis, keys: globalKeys });
  const lockdowns = createLockdownStore({ redis, keys: globalKeys });
  let closed = false;
  return {
    async isBanned(meetingId, participantId) {
      if (closed) throw new Error('the producer is closed');
      const lookup = bans.lookup(checkId(meetingId, 'meetingId', TypeError), checkId(participantId, 'participantId', TypeError));
      return banCheckOf(await verdictWithin(lookup, gateTimeoutMs));
    },
    async checkGate(target) {
      if (closed) throw new Error('the producer is closed');
      if (target === null || typeof target !== 'object') throw new TypeError('checkGate takes {meetingId, participantId}');
      return verdictWithin(
        lockdowns.gate(checkId(target.meetingId, 'meetingId', TypeError), checkId(target.participantId, 'participantId', TypeError)),
        gateTimeoutMs,
      );
    },
    async add(input) {
      if (closed) throw new Error('the producer is closed');
      const event = parseEvent(input);
      return { id: event.id, duplicate: await core.add(event) };
    },
    async addMany(inputs) {
      if (closed) throw new Error('the producer is closed');
      if (!Array.isArray(inputs)) throw new InvalidEventError([{ path: '$', message: 'addMany takes an array of events' }]);
      if (inputs.length === 0) return { accepted: 0, duplicates: 0, ids: [] };
      const events = parseEvents(inputs);
      const duplicates = await core.addMany(events);
      const dup = duplicates.filter(Boolean).length;
      return { accepted: events.length - dup, duplicates: dup, ids: events.map((e) => e.id) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await core.drain();
      await Promise.all(queues.map((q) => q.close()));
      if (!given) await redis.quit().catch(() => undefined);
    },
  };
}

/**
 * The lookup's answer, or `GateUnavailableError` when Redis fails or is not heard from within
 * `timeoutMs`: a token server must never take "no answer" for "not banned".
 */
async function verdictWithin<T>(lookup: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GateUnavailableError(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    // The race keeps a handler on the lookup, so one that fails after the timeout is not unhandled.
    return await Promise.race([lookup, late]);
  } catch (err) {
    if (err instanceof GateUnavailableError) throw err;
    throw new GateUnavailableError(`could not read the bans from Redis (${err instanceof Error ? err.message : 'unknown error'})`, err);
  } finally {
    clearTimeout(timer);
  }
}
