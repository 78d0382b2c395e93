import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** An invalid job taken from the events queue, kept for an operator to look at. */
export interface DeadLetter {
  /** ISO time it was set aside. */
  at: string;
  /** What is wrong with it. */
  reason: string;
  jobId?: string;
  /** The job data; replaced by the first 4 KB of its JSON (a string) when larger. */
  data: unknown;
  /** True when `data` was cut. */
  truncated?: boolean;
}

/** The dead-letter list: newest first, capped. */
export interface DeadLetters {
  add(entry: { at: string; reason: string; jobId?: string; data: unknown }): Promise<void>;
  /** The newest `limit` entries, newest first. */
  list(limit?: number): Promise<DeadLetter[]>;
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
  return {
    async add(entry) {
      const letter: DeadLetter = {
        at: entry.at,
        reason: entry.reason.slice(0, REASON_MAX),
        ...(entry.jobId === undefined ? {} : { jobId: entry.jobId }),
        ...boundedData(entry.data),
      };
      await redis.multi().lpush(keys.deadLetter(), JSON.stringify(letter)).ltrim(keys.deadLetter(), 0, cap - 1).exec();
    },

    async list(limit = 100) {
      const n = Math.min(Math.max(1, Math.floor(limit)), cap);
      return (await redis.lrange(keys.deadLetter(), 0, n - 1)).flatMap((raw) => {
        try {
          return [JSON.parse(raw) as DeadLetter];
        } catch {
          return [];
        }
      });
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
