import { hasVideoSdkCredential } from '../shared/config.js';
import { pauseForCredential } from '../removals/credential-pause.js';
import { checkCredential, type CredentialCheck } from '../videosdk/credential-check.js';
import type { Services } from './services.js';

/** How often a worker asks again when its credential check got no answer (VideoSDK unreachable). */
export const CREDENTIAL_RECHECK_MS = 30_000;

/**
 * A removals worker's own credential, as it last found it: its check (`check`), or a removal that
 * VideoSDK refused (`removal`). In its heartbeat entry, for `automod status`.
 */
export type WorkerCredential = CredentialCheck & { at: string; by: 'check' | 'removal' };

/**
 * A removals worker's credential: checked with one cheap call when the worker starts (in the
 * background: a start never waits on VideoSDK), asked again every 30 s while VideoSDK does not
 * answer, and marked refused when a removal meets a 401/403. A refusal pauses removals as a
 * removal's does; the first answer that is not one resumes a queue paused for a credential (the
 * worker presumably starts with a new one).
 */
export function createCredentialWatch(services: Services, options: { recheckMs?: number; onChange?: () => void } = {}) {
  const { config, logger, pause, queues, audit } = services;
  const recheckMs = options.recheckMs ?? CREDENTIAL_RECHECK_MS;
  let current: WorkerCredential | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settling: Promise<void> | undefined;
  let closed = false;
  let firstAnswer = true;

  const pauseRemovals = (status: number) => pauseForCredential({ ...services, queue: queues.removals, now: Date.now }, { status }, logger);

  async function settle(check: CredentialCheck): Promise<void> {
    const paused = await pause.get();
    if (check.result === 'refused') {
      if (paused?.kind !== 'credential') await pauseRemovals(check.status);
      else logger.error({ status: check.status }, 'CREDENTIAL REJECTED: removals stay paused until the credential is fixed');
      return;
    }
    if (!firstAnswer || check.result === 'missing' || paused?.kind !== 'credential') return;
    await pause.clear('credential');
    await queues.removals.resume();
    const reason = 'worker started after a credential failure';
    await audit.append({ at: new Date().toISOString(), kind: 'resume', reason });
    void services.notify(
      'removals.resumed',
      { resume: { reason, wasPaused: paused } },
      'Removals resumed: a worker started after a credential failure',
    );
    logger.warn({ reason: paused.reason, credential: check.result }, 'resuming removals paused for a credential failure');
  }

  async function run(): Promise<void> {
    const check = await checkCredential(services.client, hasVideoSdkCredential(config));
    if (closed) return;
    current = { ...check, at: new Date().toISOString(), by: 'check' };
    options.onChange?.();
    if (check.result === 'unknown') {
      logger.warn({ error: check.error }, 'could not check the VideoSDK credential; asking again in 30 s');
      timer = setTimeout(() => void check_(), recheckMs).unref();
    } else if (check.result !== 'missing') {
      logger.info({ credential: check.result, status: check.status }, 'VideoSDK credential checked');
    }
    settling = settle(check);
    await settling;
    if (check.result !== 'unknown') firstAnswer = false;
  }

  function check_(): Promise<void> {
    return run().catch((err: unknown) => logger.warn({ err }, 'could not act on the VideoSDK credential check'));
  }

  return {
    /**
     * Starts the first check. It goes on in the background; the promise settles once its answer
     * was acted on (for a start that must know first: a queue paused for a credential).
     */
    start: check_,
    current: (): WorkerCredential | undefined => current,
    /** A removal met a refusal (its status; undefined when no credential could be had). */
    noteRefused(status: number | undefined): void {
      current = {
        ...(status === undefined ? { result: 'missing' as const } : { result: 'refused' as const, status }),
        at: new Date().toISOString(),
        by: 'removal',
      };
      options.onChange?.();
    },
    /** What `/readyz` warns of: a check that got no answer. */
    warnings: (): string[] =>
      current?.result === 'unknown'
        ? [`this worker could not check its VideoSDK credential (${current.error}); it asks again every 30 s`]
        : [],
    /** Stops asking; a check still waiting on VideoSDK is let go, one acting on its answer finishes. */
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await settling?.catch(() => undefined);
    },
  };
}

export type CredentialWatch = ReturnType<typeof createCredentialWatch>;
