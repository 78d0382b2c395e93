import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/store/keys.js';
import { createPauseState } from '../../src/store/pause-state.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('pause'));
const { redis, cleanup } = testRedis(config);
const pause = createPauseState({ redis, keys: createKeys(config.keyPrefix) });
afterAll(cleanup);

const at = '2026-11-25T10:00:00.000Z';

describe('pause state', () => {
  it('records, reads and clears a pause', async () => {
    expect(await pause.get()).toBeUndefined();
    expect(await pause.set({ reason: 'VideoSDK answered 401', kind: 'credential', at })).toBe(true);
    expect(await pause.get()).toEqual({ reason: 'VideoSDK answered 401', kind: 'credential', at });
    expect(await pause.clear('operator')).toBe(false);
    expect(await pause.get()).toBeDefined();
    expect(await pause.clear('credential')).toBe(true);
    expect(await pause.get()).toBeUndefined();
    expect(await pause.clear()).toBe(false);
  });

  it('lets an operator pause replace a credential one, never the other way round', async () => {
    await pause.set({ reason: '401', kind: 'credential', at });
    expect(await pause.set({ reason: 'maintenance', kind: 'operator', at })).toBe(true);
    expect(await pause.set({ reason: '403', kind: 'credential', at })).toBe(false);
    expect((await pause.get())?.kind).toBe('operator');
    // A worker that starts with a new credential clears only credential pauses.
    expect(await pause.clear('credential')).toBe(false);
    expect(await pause.clear()).toBe(true);
    expect(await pause.get()).toBeUndefined();
  });
});
