import type { Queue } from 'bullmq';
import type { RedisClient } from '../store/redis.js';

/**
 * Exit code of a command that would wait for a removal worker when none runs on its prefix (it
 * queues nothing then: waiting would never end).
 */
export const NO_WORKER_EXIT = 4;

/** Who consumes a queue: the workers on this prefix, and the prefixes other workers of it use. */
export interface WorkerPresence {
  /** Workers of the queue on this prefix; undefined when Redis does not tell (no CLIENT LIST). */
  here: number | undefined;
  /** Other prefixes (as `AUTOMOD_PREFIX` spells them) with a worker of the same queue. */
  elsewhere: string[];
}

/**
 * Every BullMQ worker names its Redis connections `<key prefix>:<base64 queue name>[:w:...]`
 * (`Queue.getWorkers` reads them from CLIENT LIST): that is how a command finds out whether anyone
 * will carry out what it queues, and on which prefixes workers run instead.
 */
export async function findWorkers(queue: Queue, redis: RedisClient): Promise<WorkerPresence> {
  let here: number | undefined;
  try {
    const workers = await queue.getWorkers();
    // BullMQ's answer where CLIENT LIST is refused (managed Redis such as GCP's).
    here = workers.some((w) => w.name === 'GCP does not support client list') ? undefined : workers.length;
  } catch {
    here = undefined;
  }
  const elsewhere = new Set<string>();
  const suffix = Buffer.from(queue.name).toString('base64');
  try {
    const list = String(await redis.call('CLIENT', 'LIST'));
    for (const match of list.matchAll(/(?:^| )name=\{([^}\s]+)\}:([A-Za-z0-9+/=]+)(?::w:\S*)?(?= |$)/gm)) {
      if (match[2] === suffix && `{${match[1]}}` !== queue.opts.prefix) elsewhere.add(match[1]!);
    }
  } catch {
    // Best effort: a cluster node or a managed Redis may refuse it; the count above still holds.
  }
  return { here, elsewhere: [...elsewhere].sort() };
}

/** The sentence a command prints when nobody consumes its queue on its prefix. */
export function noWorkerMessage(prefix: string, presence: WorkerPresence): string {
  const others =
    presence.elsewhere.length > 0
      ? `workers are running on prefixes: ${presence.elsewhere.join(', ')}`
      : 'no worker runs on any other prefix either';
  return `no worker is running on prefix ${prefix}; ${others} (set AUTOMOD_PREFIX to match, or start one: automod start)`;
}
