import type { JobsOptions } from 'bullmq';
import type { Config } from './config.js';

/** How many times longer failed jobs are kept than finished ones: long enough to be looked at and replayed. */
export const FAILED_RETENTION_FACTOR = 7;

/**
 * Entries kept in each queue's BullMQ event stream (added, active, completed, ...; BullMQ keeps
 * 10,000 by default, about 0.7 MB per queue). The only readers follow it live (`automod remove` and
 * `replay` progress, which also poll job states as a backstop), so a short tail is enough.
 */
export const EVENTS_STREAM_MAX_LEN = 1000;

/** Retention of finished jobs: bounded by age and by count, so Redis never grows without limit. */
export function retention(keep: Pick<Config, 'jobsKeepHours' | 'jobsKeepCount'>): Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> {
  const age = Math.max(1, Math.round(keep.jobsKeepHours * 3600));
  return {
    removeOnComplete: { age, count: keep.jobsKeepCount },
    removeOnFail: { age: age * FAILED_RETENTION_FACTOR, count: keep.jobsKeepCount },
  };
}

/** Whole seconds a failed job is kept: records about jobs live as long as the jobs (EXPIRE takes integers). */
export function failedRetentionSeconds(hours: number): number {
  return Math.max(1, Math.round(hours * 3600 * FAILED_RETENTION_FACTOR));
}
