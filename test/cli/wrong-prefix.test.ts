import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/store/redis.js';
import { runCli } from '../helpers/cli.js';
import { sessionId, startHarness, type Harness } from '../helpers/harness.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

// A worker runs on the harness's prefix; the CLI is pointed at another one, as an operator with a
// stale AUTOMOD_PREFIX would be.
let h: Harness;
const wrong = uniquePrefix('wrong');
let env: Record<string, string>;
beforeAll(async () => {
  h = await startHarness('right');
  env = { REDIS_URL, AUTOMOD_PREFIX: wrong, VIDEOSDK_API_BASE: h.simulator.url, VIDEOSDK_API_KEY: 'test-key', VIDEOSDK_SECRET: h.secret };
});
afterAll(async () => {
  await h?.close();
  const redis = createRedis(h.config.redis);
  await deletePrefix(redis, wrong);
  await redis.quit();
});

describe('commands that need a worker, on a prefix where none runs', () => {
  it('remove: waiting refuses with exit 4 and queues nothing; --no-wait queues and warns; both name the prefixes with workers', async () => {
    const sid = sessionId();
    const waiting = await runCli(['remove', '--session', sid, '--participant', 'p1'], env);
    expect(waiting.code).toBe(4);
    expect(waiting.stderr).toContain(`no worker is running on prefix ${wrong}; workers are running on prefixes: `);
    expect(waiting.stderr).toContain(h.config.prefix);
    expect(waiting.stderr).toMatch(/nothing queued/);

    const queued = await runCli(['remove', '--session', sid, '--participant', 'p1', '--no-wait'], env);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/queued 1 removal/);
    expect(queued.stderr).toContain(`no worker is running on prefix ${wrong}`);
    const jobs = await runCli(['jobs', '--json'], env);
    expect((JSON.parse(jobs.stdout) as unknown[]).length).toBe(1);

    // On the workers' prefix nothing is said.
    const right = await runCli(['remove', '--session', sid, '--participant', 'p1', '--no-wait'], {
      ...env,
      AUTOMOD_PREFIX: h.config.prefix,
    });
    expect(right.code).toBe(0);
    expect(right.stderr).not.toMatch(/no worker/);
  });

  it('replay --wait refuses with exit 4; rules reload names the prefixes with workers', async () => {
    const replay = await runCli(['replay', '--wait'], env);
    expect(replay.code).toBe(4);
    expect(replay.stderr).toContain(`no worker is running on prefix ${wrong}`);
    expect(replay.stderr).toContain(h.config.prefix);

    const reload = await runCli(['rules', 'reload'], env);
    expect(reload.stdout).toMatch(/no worker is listening/);
    expect(reload.stderr).toContain(`no worker is running on prefix ${wrong}; workers are running on prefixes: `);
    expect(reload.stderr).toContain(h.config.prefix);
  });
});
