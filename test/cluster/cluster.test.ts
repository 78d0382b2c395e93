import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import type { RedisServer } from '../helpers/processes.js';
import { startCluster, type LocalCluster } from '../helpers/cluster.js';
import { partitionOf } from '../../src/shared/partitions.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

/**
 * The end-to-end path on a local three-master Redis Cluster: HTTP event -> rule -> removal job ->
 * simulator -> recorded state, with every queue and key under the `{prefix}` hash tag. Needs
 * redis-server and redis-cli; without them the test fails (CI installs them), it is never skipped.
 */
describe('Redis Cluster (three masters)', () => {
  let cluster: LocalCluster | undefined;
  let nodes: RedisServer[] = [];
  let seeds = '';

  beforeAll(async () => {
    cluster = await startCluster(3);
    nodes = cluster.nodes;
    seeds = cluster.seeds;
  }, 60_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  // One partition: every key under the one `{prefix}` tag. Three: each partition's keys under
  // `{prefix:pK}`, global ones under `{prefix}`, no script or pipeline crossing slots.
  describe.each([1, 3])('with AUTOMOD_PARTITIONS=%i', (partitions) => {
    let h: Harness | undefined;
    beforeAll(async () => {
      h = await startHarness(`cluster-${partitions}`, {
        REDIS_CLUSTER_NODES: seeds,
        VIDEOSDK_API_VERSION: 'v2',
        AUTOMOD_PARTITIONS: String(partitions),
      });
    }, 30_000);
    afterAll(async () => {
      await h?.close().catch(() => undefined);
    });

    it('runs events -> rule -> removal -> simulator -> recorded state on the cluster', async () => {
      const harness = h!;
      expect(harness.automod.services.redis).toBeInstanceOf(Cluster);
      const sid = sessionId();
      harness.simulator.addSession({
        id: sid,
        meetingId: 'room-cluster',
        participants: [
          { participantId: 'imp', name: 'Admin Eve' },
          { participantId: 'ok', name: 'Carol' },
        ],
      });

      const posted = await harness.api('POST', '/v1/events', [
        {
          id: `${sid}-1`,
          type: 'participant-joined',
          meetingId: 'room-cluster',
          sessionId: sid,
          participantId: 'imp',
          participantName: 'Admin Eve',
          data: { role: 'participant' },
        },
        {
          id: `${sid}-2`,
          type: 'participant-joined',
          meetingId: 'room-cluster',
          sessionId: sid,
          participantId: 'ok',
          participantName: 'Carol',
          data: { role: 'participant' },
        },
      ]);
      expect(posted.status).toBe(202);

      const recorded = await waitFor(
        async () => {
          const res = await harness.api('GET', `/v1/sessions/${sid}`);
          const body = res.body as { removals?: { participantId: string; outcome: string; jobId: string }[] };
          return res.status === 200 && body.removals?.length ? { removals: body.removals } : undefined;
        },
        15_000,
        'the recorded removal',
      );
      expect(recorded.removals).toEqual([expect.objectContaining({ participantId: 'imp', outcome: 'removed' })]);
      const removes = harness.simulator.calls().filter((c) => c.sessionId === sid && c.operation === 'remove');
      expect(removes.filter((c) => c.applied).map((c) => c.participantId)).toEqual(['imp']);
      expect(removes[0]!.body).toEqual({ participantId: 'imp', roomId: 'room-cluster', sessionId: sid });

      // The outcome is written before BullMQ marks the job completed: wait for both.
      const job = await waitFor(
        async () => {
          const res = await harness.api('GET', `/v1/jobs/${recorded.removals[0]!.jobId}`);
          return (res.body as { state?: string }).state === 'completed' ? res.body : undefined;
        },
        5000,
        'the job to complete',
      );
      expect(job).toMatchObject({ state: 'completed', outcome: 'removed' });
      expect((await harness.api('GET', '/readyz')).status).toBe(200);

      // The processed-event log is readable across partitions.
      await waitFor(
        async () => {
          let n = 0;
          for await (const record of harness.automod.services.eventLog.read({ since: Date.now() - 60_000 }))
            if (record.event.sessionId === sid) n++;
          return n === 2 ? true : undefined;
        },
        5000,
        'the event log',
      );

      // Every key of a tag lives in that tag's one hash slot, on one master.
      const base = harness.config.prefix;
      const holders = nodes.map((n) => {
        const out = spawnSync('redis-cli', ['-p', String(n.port), '--scan', '--pattern', `{${base}*`], { encoding: 'utf8' }).stdout;
        return out.split('\n').filter(Boolean);
      });
      const all = holders.flat();
      expect(all.length).toBeGreaterThan(10);
      const tags = partitions === 1 ? [`{${base}}`] : [`{${base}}`, ...Array.from({ length: partitions }, (_, k) => `{${base}:p${k}}`)];
      expect(all.filter((k) => !tags.some((t) => k.startsWith(t)))).toEqual([]);
      for (const tag of tags) expect(holders.filter((keys) => keys.some((k) => k.startsWith(tag)))).toHaveLength(1);
      // The session's partition holds its counters and event markers.
      if (partitions > 1) expect(all.some((k) => k.startsWith(`{${base}:p${partitionOf(sid, partitions)}}:event-done:`))).toBe(true);
    });
  });
});
