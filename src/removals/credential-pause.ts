import type { Queue } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Notify } from '../notify/notifications.js';
import type { AuditStore } from '../store/audit.js';
import type { PauseState } from '../store/pause-state.js';

/** What pausing removals for a credential needs. */
export interface CredentialPauseDeps {
  pause: PauseState;
  queue: Queue;
  audit: AuditStore;
  notify?: Notify | undefined;
  metrics?: Metrics | undefined;
  now: () => number;
}

/** How the credential failed: VideoSDK refused it (its status), or none could be had (why). */
export type CredentialFailure = { status: number | undefined; requestId?: string | undefined } | { unusable: string };

/**
 * Pauses the removals queue because VideoSDK refused the credential (or none could be had): the
 * reason recorded in Redis for every worker, `/readyz` and `automod status`, a notification, an
 * audit record, and one loud log line. The same whether a removal met the refusal or a worker's
 * check at start did. Answers the recorded reason.
 */
export async function pauseForCredential(deps: CredentialPauseDeps, failure: CredentialFailure, log: Logger): Promise<string> {
  const fix = 'fix VIDEOSDK_TOKEN or VIDEOSDK_API_KEY/VIDEOSDK_SECRET and restart, or run automod resume';
  const status = 'status' in failure ? failure.status : undefined;
  const reason =
    'status' in failure
      ? `VideoSDK refused the credential (HTTP ${status ?? '?'}); ${fix}`
      : `no usable VideoSDK credential (${failure.unusable}); ${fix}`;
  const at = new Date(deps.now()).toISOString();
  await deps.pause.set({ reason, kind: 'credential', at });
  await deps.queue.pause();
  void deps.notify?.('removals.paused', { pause: { reason, kind: 'credential', at } }, `Removals paused: ${reason}`);
  await deps.audit.append({ at, kind: 'pause', reason, ...(status !== undefined ? { detail: { status } } : {}) });
  deps.metrics?.credentialFailures.inc();
  const requestId = 'status' in failure ? failure.requestId : undefined;
  log.error({ status, requestId }, 'CREDENTIAL REJECTED: removals paused until the credential is fixed');
  return reason;
}
