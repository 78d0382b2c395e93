import { UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createNotificationProcessor } from '../../src/notify/notify-worker.js';
import { createLogger } from '../../src/shared/logger.js';

describe('the notification delivery worker', () => {
  it('fails data that is not a delivery once (no retries), naming what is wrong', async () => {
    const deliver = createNotificationProcessor({
      config: { urls: ['http://127.0.0.1:9/hook'], types: undefined, secret: 's' },
      logger: createLogger({ logLevel: 'silent', logFormat: 'json' }),
    });
    for (const data of [null, 'x', [], { type: 'ban.created' }]) {
      const attempt = deliver({ data, attemptsMade: 0 } as unknown as Job);
      await expect(attempt).rejects.toBeInstanceOf(UnrecoverableError);
      await expect(attempt).rejects.toThrow(/not a notification delivery: \$/);
    }
  });
});
