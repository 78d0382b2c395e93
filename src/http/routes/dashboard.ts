import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { offlineDashboardViews } from '../dashboard-views.js';
import type { RouteContext } from '../deps.js';

/** Where Bull Board is served. */
export const DASHBOARD = '/admin/queues';

/** Bull Board over both queues (its assets served from the package: no CDN). */
export async function registerDashboard(app: FastifyInstance, { deps }: RouteContext): Promise<void> {
  const board = new FastifyAdapter();
  board.setBasePath(DASHBOARD);
  createBullBoard({
    queues: [
      new BullMQAdapter(deps.queues.events, { description: 'meeting events waiting for the rules' }),
      new BullMQAdapter(deps.queues.removals, {
        description:
          'remove-participant calls to VideoSDK; paused = removals stopped (see /readyz for why); replay failed ones with automod replay',
      }),
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
  board.setViewsPath(await offlineDashboardViews());
  await app.register(board.registerPlugin(), { prefix: DASHBOARD });
}
