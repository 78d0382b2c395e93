import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { HTTPStatus } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { ConflictError } from '../../shared/errors.js';
import type { PauseInfo, PauseState } from '../../store/pause-state.js';
import { offlineDashboardViews } from '../dashboard-views.js';
import type { RouteContext } from '../deps.js';
import { errorResponse } from '../error-response.js';

/** Where Bull Board is served. */
export const DASHBOARD = '/admin/queues';

const REMOVALS_DESCRIPTION =
  'remove-participant calls to VideoSDK; paused = removals stopped (see /readyz for why); replay failed ones with automod replay';

/** A recorded pause as the board and its refusals say it. */
function describePause(pause: PauseInfo): string {
  return pause.kind === 'operator'
    ? `paused by an operator since ${pause.at}: ${pause.reason}; only automod resume resumes them`
    : `paused after a credential failure since ${pause.at}: ${pause.reason}; fix the credential and restart a worker, or run automod resume`;
}

/**
 * A pause recorded by `automod pause` (or a credential failure) holds until `automod resume`: the
 * board's resume would otherwise start the queue while `/readyz` and `automod status` still say
 * paused.
 */
async function refuseWhilePaused(pause: PauseState): Promise<void> {
  const recorded = await pause.get();
  if (recorded) throw new ConflictError(`removals are ${describePause(recorded)}`);
}

/**
 * The removals queue as the board sees it: its resume (the one place the board's buttons reach the
 * queue) refuses while a pause is recorded, and its description says why it is paused.
 */
class RemovalsBoardAdapter extends BullMQAdapter {
  readonly #pause: PauseState;
  #pauseNote = '';

  constructor(queue: Queue, pause: PauseState) {
    super(queue, { description: REMOVALS_DESCRIPTION });
    this.#pause = pause;
  }

  // The board reads isPaused and then the description for each listing: the note is fresh for it.
  override async isPaused(): Promise<boolean> {
    const [paused, recorded] = await Promise.all([super.isPaused(), this.#pause.get()]);
    this.#pauseNote = recorded ? `. Removals are ${describePause(recorded)}` : '';
    return paused;
  }

  override getDescription(): string {
    return `${REMOVALS_DESCRIPTION}${this.#pauseNote}`;
  }

  override async resume(): Promise<void> {
    await refuseWhilePaused(this.#pause);
    await super.resume();
  }
}

/** Bull Board over both queues (its assets served from the package: no CDN). */
export async function registerDashboard(app: FastifyInstance, { deps }: RouteContext): Promise<void> {
  const board = new FastifyAdapter();
  board.setBasePath(DASHBOARD);
  createBullBoard({
    queues: [
      new BullMQAdapter(deps.queues.events, { description: 'meeting events waiting for the rules' }),
      new RemovalsBoardAdapter(deps.queues.removals, deps.pause),
      ...(deps.notifications
        ? [
            new BullMQAdapter(deps.notifications, {
              description: 'signed POSTs to AUTOMOD_NOTIFY_URLS; replay failed ones with automod replay --queue notifications',
            }),
          ]
        : []),
    ],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'meeting-automod' } },
  });
  // The board's errors answer like the rest of the API (its page shows a string `error` as it is),
  // and say nothing of internals.
  board.setErrorHandler((err) => {
    const { status, body } = errorResponse(err, deps.bodyLimit ?? 1024 * 1024);
    if (status >= 500) deps.logger.error({ err }, 'dashboard request failed');
    // Its fastify adapter sends any status; the type lists only those Bull Board's own handlers use.
    return { status: status as HTTPStatus, body };
  });
  board.setViewsPath(await offlineDashboardViews());
  await app.register(async (scope) => {
    // "Resume all" resumes queue after queue and would stop at the refusal with some resumed:
    // while a pause is recorded it is refused whole, before it touches any queue.
    scope.addHook('preHandler', async (request) => {
      if (request.method === 'PUT' && request.routeOptions.url === `${DASHBOARD}/api/queues/resume`) await refuseWhilePaused(deps.pause);
    });
    await scope.register(board.registerPlugin(), { prefix: DASHBOARD });
  });
}
