import { createHash, randomUUID } from 'node:crypto';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** An operator's replay of a dead letter with a corrected event. */
export interface DeadLetterReplay {
  /** ISO time of the replay. */
  at: string;
  requestedBy: string;
  /** Id of the corrected event that was enqueued. */
  eventId: string;
}

/** An invalid job taken from the events queue, kept for an operator to look at. */
export interface DeadLetter {
  /** Stable id (`automod dead-letters replay ID`, `POST /v1/dead-letters/:id/replay`). */
  id: string;
  /** ISO time it was set aside. */
  at: string;
  /** What is wrong with it. */
  reason: string;
  jobId?: string;
  /** The job data; replaced by the first 4 KB of its JSON (a string) when larger. */
  data: unknown;
  /** True when `data` was cut. */
  truncated?: boolean;
  /** Set once an operator replayed it with a corrected event. */
  replayed?: DeadLetterReplay;
}

/** The dead-letter list: newest first, capped. */
export interface DeadLetters {
  /** Sets an invalid job aside; answers its id. */
  add(entry: { at: string; reason: string; jobId?: string; data: unknown }): Promise<string>;
  /** The newest `limit` entries, newest first. */
  list(limit?: number): Promise<DeadLetter[]>;
  /** One entry by id (looked for among the kept ones). */
  get(id: string): Promise<DeadLetter | undefined>;
  /** Records that the entry was replayed with a corrected event. */
  markReplayed(id: string, replay: DeadLetterReplay): Promise<void>;
  count(): Promise<number>;
}

/** Options of `createDeadLetters`. */
export interface DeadLettersOptions {
  redis: RedisClient;
  keys: Keys;
  /** Entries kept (the oldest are dropped). */
  max: number;
}

/** Largest job data kept as it is, in characters of JSON. */
export const DEAD_LETTER_DATA_MAX = 4096;
const REASON_MAX = 2000;

/** Creates the dead-letter list. */
export function createDeadLetters({ redis, keys, max }: DeadLettersOptions): DeadLetters {
  const cap = Math.max(1, Math.floor(max));

  const read = async (n: number): Promise<DeadLetter[]> => {
    const letters = (await redis.lrange(keys.deadLetter(), 0, n - 1)).flatMap((raw) => {
      try {
        const parsed = JSON.parse(raw) as Omit<DeadLetter, 'id'> & { id?: string };
        // Entries written before ids existed get one from their content, stable across reads.
        return [{ ...parsed, id: parsed.id ?? createHash('sha256').update(raw).digest('hex').slice(0, 32) } as DeadLetter];
      } catch {
        return [];
      }
    });
    if (letters.length === 0) return letters;
    const replays = await redis.hmget(keys.deadLetterReplayed(), ...letters.map((l) => l.id));
    return letters.map((letter, i) => {
      const raw = replays[i];
      if (!raw) return letter;
      try {
        return { ...letter, replayed: JSON.parse(raw) as DeadLetterReplay };
      } catch {
        return letter;
      }
    });
  };

  return {
    async add(entry) {
      const letter: DeadLetter = {
        id: randomUUID(),
        at: entry.at,
        reason: entry.reason.slice(0, REASON_MAX),
        ...(entry.jobId === undefined ? {} : { jobId: entry.jobId }),
        ...boundedData(entry.data),
      };
      await redis
        .multi()
        .lpush(keys.deadLetter(), JSON.stringify(letter))
        .ltrim(keys.deadLetter(), 0, cap - 1)
        .exec();
      return letter.id;
    },

    async list(limit = 100) {
      return read(Math.min(Math.max(1, Math.floor(limit)), cap));
    },

    async get(id) {
      return (await read(cap)).find((letter) => letter.id === id);
    },

    async markReplayed(id, replay) {
      await redis.hset(keys.deadLetterReplayed(), id, JSON.stringify(replay));
    },

    async count() {
      return redis.llen(keys.deadLetter());
    },
  };
}

// A dead letter is by definition data we could not trust: it may be huge or not serialisable.
function boundedData(data: unknown): { data: unknown; truncated?: true } {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    return { data: '[not serialisable]', truncated: true };
  }
  if (json === undefined) return { data: null };
  if (json.length <= DEAD_LETTER_DATA_MAX) return { data };
  return { data: json.slice(0, DEAD_LETTER_DATA_MAX), truncated: true };
}
