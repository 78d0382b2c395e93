import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import { createMetrics, type QueueProbe } from '../../src/shared/metrics.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('metrics');
});
afterAll(async () => {
  await h?.close();
});

/** Reads one sample of the Prometheus text: `name{labels} value` (labels as given, in order). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return 0;
}

async function scrape(): Promise<string> {
  const res = await h.api('GET', '/metrics');
  expect(res.status).toBe(200);
  return res.body as string;
}

describe('GET /metrics', () => {
  it('is Prometheus text whose every metric is named automod_*, with process metrics', async () => {
    const response = await fetch(`${h.automod.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(name).toMatch(/^automod_/);
    expect(names).toEqual(
      expect.arrayContaining([
        'automod_process_cpu_user_seconds_total',
        'automod_process_resident_memory_bytes',
        'automod_nodejs_eventloop_lag_seconds',
        'automod_events_received_total',
        'automod_events_total',
        'automod_events_invalid_total',
        'automod_rule_hits_total',
        'automod_removals_total',
        'automod_api_requests_total',
        'automod_api_request_duration_seconds',
        'automod_queue_jobs',
        'automod_queue_oldest_waiting_seconds',
        'automod_queue_paused',
        'automod_redis_up',
      ]),
    );
  });

  it('moves the counters as an event leads to a rule hit and a removal', async () => {
    const before = await scrape();
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-m', participants: [{ participantId: 'imp', name: 'Support Sue' }] });
    const posted = await h.api('POST', '/v1/events', [
      {
        type: 'participant-joined',
        meetingId: 'room-m',
        sessionId: sid,
        participantId: 'imp',
        participantName: 'Support Sue',
        data: { role: 'participant' },
      },
      { type: 'my-custom-thing', sessionId: sid, data: { anything: 1 } },
    ]);
    expect(posted.status).toBe(202);
    expect((await h.api('POST', '/v1/events', { type: 'chat-message', sessionId: sid })).status).toBe(400);
    await waitFor(async () => ((await h.api('GET', `/v1/sessions/${sid}`)).status === 200 ? true : undefined), 10_000, 'the removal');
    // Counters are incremented after the outcome is recorded; give the scrape a moment.
    const after = await waitFor(
      async () => {
        const text = await scrape();
        return sample(text, 'automod_removals_total', { outcome: 'removed' }) >
          sample(before, 'automod_removals_total', { outcome: 'removed' })
          ? text
          : undefined;
      },
      5000,
      'the removal counter',
    );

    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('automod_events_received_total', { type: 'participant-joined' })).toBe(1);
    expect(delta('automod_events_received_total', { type: 'custom' })).toBe(1);
    expect(delta('automod_events_total', { type: 'participant-joined' })).toBe(1);
    expect(delta('automod_events_invalid_total', { source: 'http' })).toBe(1);
    expect(delta('automod_rule_hits_total', { rule: 'impersonating-staff', mode: 'enforce' })).toBe(1);
    expect(delta('automod_removals_total', { outcome: 'removed' })).toBe(1);
    expect(delta('automod_api_requests_total', { operation: 'remove', status_class: '2xx' })).toBe(1);
    expect(delta('automod_api_request_duration_seconds_count', { operation: 'remove' })).toBe(1);
    expect(sample(after, 'automod_api_request_duration_seconds_bucket', { operation: 'remove', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'automod_queue_jobs', { queue: 'removals', state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'automod_redis_up')).toBe(1);
  });

  it('counts failed API calls by status class', async () => {
    const before = await scrape();
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'p' }] });
    h.simulator.addFault({ sessionId: sid, operation: 'remove', status: 503, times: 1 });
    const posted = await h.api('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'p' }] });
    const [id] = (posted.body as { jobs: string[] }).jobs as [string];
    await waitFor(
      async () => ((await h.api('GET', `/v1/jobs/${id}`)).body as { outcome: string | null }).outcome ?? undefined,
      10_000,
      'the outcome',
    );
    const after = await scrape();
    expect(
      sample(after, 'automod_api_requests_total', { operation: 'remove', status_class: '5xx' }) -
        sample(before, 'automod_api_requests_total', { operation: 'remove', status_class: '5xx' }),
    ).toBe(1);
  });

  it('shows queue depth, the oldest waiting job age and the pause', async () => {
    const removals = h.automod.services.queues.removals;
    await removals.pause();
    try {
      const sid = sessionId();
      await h.api('POST', '/v1/removals', {
        removals: [
          { sessionId: sid, participantId: 'w1' },
          { sessionId: sid, participantId: 'w2' },
        ],
      });
      const oldest = async () => sample(await scrape(), 'automod_queue_oldest_waiting_seconds', { queue: 'removals' });
      await expect.poll(oldest, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      const text = await scrape();
      expect(sample(text, 'automod_queue_jobs', { queue: 'removals', state: 'waiting' })).toBe(2);
      expect(sample(text, 'automod_queue_oldest_waiting_seconds', { queue: 'removals' })).toBeLessThan(30);
      expect(sample(text, 'automod_queue_paused', { queue: 'removals' })).toBe(1);
      expect(sample(text, 'automod_queue_paused', { queue: 'events' })).toBe(0);
    } finally {
      await removals.resume();
    }
    const text = await scrape();
    expect(sample(text, 'automod_queue_paused', { queue: 'removals' })).toBe(0);
  });
});

describe('createMetrics', () => {
  it('still answers a scrape while Redis is down, with automod_redis_up 0, and 1 on the first good scrape', async () => {
    let up = false;
    const fail = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const queue: QueueProbe['queue'] = {
      getJobCounts: (() => (up ? Promise.resolve({ waiting: 3 }) : fail())) as Queue['getJobCounts'],
      getWaiting: (() => (up ? Promise.resolve([]) : fail())) as Queue['getWaiting'],
      getPrioritized: (() => (up ? Promise.resolve([]) : fail())) as Queue['getPrioritized'],
      isPaused: () => (up ? Promise.resolve(true) : fail()),
    };
    const metrics = createMetrics({ queues: () => [{ name: 'removals', queue }], processMetrics: false });
    const down = await metrics.registry.metrics();
    expect(sample(down, 'automod_redis_up')).toBe(0);
    up = true;
    const text = await metrics.registry.metrics();
    expect(sample(text, 'automod_redis_up')).toBe(1);
    expect(sample(text, 'automod_queue_jobs', { queue: 'removals', state: 'waiting' })).toBe(3);
    expect(sample(text, 'automod_queue_paused', { queue: 'removals' })).toBe(1);
    // Without process metrics nothing but ours is there.
    expect([...text.matchAll(/^# TYPE (\S+) /gm)].every((m) => m[1]!.startsWith('automod_'))).toBe(true);
  });
});
