import { Redis, type Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { createMetrics } from '../../src/shared/metrics.js';
import { createRulesRuntime, type RulesRuntime } from '../../src/rules/rules-runtime.js';
import { createKeys } from '../../src/store/keys.js';
import { createListStore, type ListStore } from '../../src/store/lists.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// How a worker follows live-list changes: one refresh at a time shared by every waiting event,
// deltas from the change log for adds and removes, a chunked full read only when the log cannot
// tell, and no stall of the connection that /readyz pings.

const config = testConfig(uniquePrefix('list-sync'));
const { redis, cleanup } = testRedis(config);
const logger = createLogger({ logLevel: 'silent' });

/** The store the worker reads through, counting its reads. */
function counted(store: ListStore) {
  const calls = { scanAll: 0, changesSince: 0, loadAll: 0 };
  const wrapped: ListStore = {
    ...store,
    scanAll: () => (calls.scanAll++, store.scanAll()),
    changesSince: (v, max) => (calls.changesSince++, store.changesSince(v, max)),
    loadAll: () => (calls.loadAll++, store.loadAll()),
  };
  return { store: wrapped, calls };
}

let dir: string;
const runtimes: RulesRuntime[] = [];
async function worker(store: ListStore): Promise<{ runtime: RulesRuntime; metrics: ReturnType<typeof createMetrics> }> {
  const metrics = createMetrics();
  const runtime = createRulesRuntime({ rulesDir: dir, lists: store, logger, metrics });
  runtimes.push(runtime);
  await runtime.load();
  return { runtime, metrics };
}

const refreshes = async (metrics: ReturnType<typeof createMetrics>, kind: 'delta' | 'full') =>
  (await metrics.listRefreshes.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;

beforeAll(async () => {
  dir = await tempRules({
    'blocked.json': {
      name: 'blocked',
      description: 'Anyone on the live blocked list',
      conditions: { all: [{ fact: 'event', path: '$.participantId', operator: 'inList', value: 'blocked' }] },
      event: { type: 'flag', params: { reason: 'blocked' } },
    },
  });
});
afterAll(async () => {
  for (const r of runtimes) r.close();
  await removeDir(dir);
  await cleanup();
});

describe('live-list refresh in a worker', () => {
  it('many concurrent events that see a new version read the lists from Redis once', async () => {
    const base = createListStore({ redis, keys: createKeys(`${config.keyPrefix}-once`) });
    await base.add(
      'blocked',
      Array.from({ length: 5000 }, (_, i) => `p-${i}`),
    );
    const { store, calls } = counted(base);
    // A worker that never read the lists: the next version forces a full read.
    const metrics = createMetrics();
    const runtime = createRulesRuntime({ rulesDir: dir, lists: store, logger, metrics });
    runtimes.push(runtime);

    const version = await base.version();
    await Promise.all(Array.from({ length: 200 }, () => runtime.syncLists(version)));
    expect(calls.scanAll).toBe(1);
    expect(calls.loadAll).toBe(0);
    expect(runtime.lists.has('blocked', 'p-4999')).toBe(true);

    // Then a change: 200 events seeing it share one delta read.
    await base.add('blocked', ['late']);
    calls.changesSince = 0;
    await Promise.all(Array.from({ length: 200 }, () => runtime.syncLists(version + 1)));
    expect(calls.changesSince).toBe(1);
    expect(calls.scanAll).toBe(1);
    expect(runtime.lists.has('blocked', 'late')).toBe(true);
    expect(await refreshes(metrics, 'full')).toBe(1);
    expect(await refreshes(metrics, 'delta')).toBe(1);
  });

  it('applies an add or a remove as a delta, without reading the whole list again', async () => {
    const base = createListStore({ redis, keys: createKeys(`${config.keyPrefix}-delta`) });
    await base.add(
      'blocked',
      Array.from({ length: 3000 }, (_, i) => `p-${i}`),
    );
    await base.add('other', ['x']);
    const { store, calls } = counted(base);
    const { runtime } = await worker(store);
    expect(calls.scanAll).toBe(1);
    const otherValues = runtime.lists.values('other');

    await base.add('blocked', ['new-1', 'new-2', 'p-1']);
    await base.remove('blocked', ['p-2', 'never-there']);
    await runtime.syncLists(await base.version());
    expect(calls.scanAll).toBe(1);
    expect(runtime.lists.has('blocked', 'new-1')).toBe(true);
    expect(runtime.lists.has('blocked', 'new-2')).toBe(true);
    expect(runtime.lists.has('blocked', 'p-2')).toBe(false);
    expect(runtime.lists.has('blocked', 'p-3')).toBe(true);
    expect(new Set(runtime.lists.values('blocked'))).toEqual(new Set(await base.show('blocked')));
    // A list the change did not touch keeps its array (containsWord's index stays valid).
    expect(runtime.lists.values('other')).toBe(otherValues);

    // Emptying a list removes it, as in Redis.
    await base.remove('other', ['x']);
    await runtime.syncLists(await base.version());
    expect(runtime.lists.exists('other')).toBe(false);
    expect(calls.scanAll).toBe(1);
  });

  it('a worker that fell behind the capped change log still ends with the exact set', async () => {
    const base = createListStore({ redis, keys: createKeys(`${config.keyPrefix}-behind`), changeLogSize: 5 });
    await base.add('blocked', ['a', 'b', 'c']);
    const { store, calls } = counted(base);
    const { runtime, metrics } = await worker(store);
    for (let i = 0; i < 20; i++) {
      await base.add('blocked', [`v-${i}`]);
      if (i % 3 === 0) await base.remove('blocked', [`v-${i}`, 'a']);
    }
    await base.add('fresh', ['f']);
    await runtime.syncLists(await base.version());
    expect(calls.scanAll).toBe(2);
    expect(await refreshes(metrics, 'full')).toBe(2);
    expect([...runtime.lists.values('blocked')].sort()).toEqual(await base.show('blocked'));
    expect(runtime.lists.values('fresh')).toEqual(['f']);
    expect(runtime.lists.has('blocked', 'a')).toBe(false);
  });

  it('a worker whose lists version went back (Redis reset) reads the lists again', async () => {
    const prefixed = createKeys(`${config.keyPrefix}-reset`);
    const base = createListStore({ redis, keys: prefixed });
    await base.add('blocked', ['a']);
    await base.add('blocked', ['b']);
    const { runtime } = await worker(base);
    expect(runtime.lists.has('blocked', 'b')).toBe(true);
    await redis.del(prefixed.list('blocked'), prefixed.listIndex(), prefixed.listsVersion(), prefixed.listChanges());
    await base.add('blocked', ['c']);
    await runtime.syncLists(await base.version());
    expect([...runtime.lists.values('blocked')]).toEqual(['c']);
  });

  it('a full read of a big list does not hold up other commands on the same connection', async () => {
    const base = createListStore({ redis, keys: createKeys(`${config.keyPrefix}-big`) });
    await base.add(
      'blocked',
      Array.from({ length: 50_000 }, (_, i) => `participant-with-a-longish-id-${i}`),
    );
    // A command waits for every reply queued before it on its connection. Before, each event sent
    // SMEMBERS of the whole list on this connection, and a ping queued behind them for seconds
    // (readyz's 1 s limit: "Redis is unreachable"). Now no reply carries more than a small chunk.
    const connection = new Redis(REDIS_URL);
    let largest = 0;
    const sendCommand = connection.sendCommand.bind(connection);
    connection.sendCommand = (command: Command, stream?: Parameters<Redis['sendCommand']>[1]) => {
      command.promise.then(
        (reply: unknown) => (largest = Math.max(largest, Array.isArray(reply) ? reply.flat(2).length : 1)),
        () => undefined,
      );
      return sendCommand(command, stream);
    };
    try {
      const store = createListStore({ redis: connection, keys: createKeys(`${config.keyPrefix}-big`) });
      const runtimes = Array.from({ length: 20 }, () => createRulesRuntime({ rulesDir: dir, lists: store, logger }));
      const version = await base.version();
      // 20 workers' worth of events (each runtime stands for a process) reading at once.
      await Promise.all(runtimes.flatMap((r) => Array.from({ length: 20 }, () => r.syncLists(version))));
      for (const r of runtimes) expect(r.lists.has('blocked', 'participant-with-a-longish-id-49999')).toBe(true);
      expect(largest).toBeGreaterThan(0);
      expect(largest).toBeLessThan(5_000);
    } finally {
      connection.disconnect();
    }
  }, 30_000);
});
