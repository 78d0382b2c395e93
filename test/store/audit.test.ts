import { afterAll, describe, expect, it } from 'vitest';
import { createAuditStore, type AuditRecord } from '../../src/store/audit.js';
import { createKeys } from '../../src/store/keys.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('audit'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
afterAll(cleanup);

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('audit store', () => {
  const audit = createAuditStore({ redis, keys, maxRecords: 100_000 });

  it('stores records with ids at the record time and answers newest first', async () => {
    const id = await audit.append({
      at: iso(T0),
      kind: 'rule-hit',
      sessionId: 's1',
      participantId: 'p1',
      rule: 'r1',
      mode: 'enforce',
      outcome: 'queued',
    });
    expect(id).toBe(`${T0}-0`);
    await audit.append({
      at: iso(T0 + 1000),
      kind: 'rule-hit',
      sessionId: 's1',
      participantId: 'p2',
      rule: 'r2',
      mode: 'shadow',
      outcome: 'skipped-shadow',
    });
    await audit.append({
      at: iso(T0 + 2000),
      kind: 'removal',
      sessionId: 's2',
      participantId: 'p1',
      rule: 'r1',
      outcome: 'removed',
      jobId: 'j1',
      attempts: [{ at: T0 + 1500, method: 'POST', path: '/v1/x', operation: 'remove', status: 200, latencyMs: 12, requestId: 'rq' }],
    });
    const all = await audit.query();
    expect(all.map((r) => r.at)).toEqual([iso(T0 + 2000), iso(T0 + 1000), iso(T0)]);
    expect(all[0]?.attempts?.[0]?.requestId).toBe('rq');
  });

  it('filters by session, participant, rule, mode, kind and outcome', async () => {
    const ats = (records: AuditRecord[]) => records.map((r) => r.at);
    expect(ats(await audit.query({ sessionId: 's1' }))).toEqual([iso(T0 + 1000), iso(T0)]);
    expect(ats(await audit.query({ participantId: 'p1' }))).toEqual([iso(T0 + 2000), iso(T0)]);
    expect(ats(await audit.query({ rule: 'r1', sessionId: 's1' }))).toEqual([iso(T0)]);
    expect(ats(await audit.query({ mode: 'shadow' }))).toEqual([iso(T0 + 1000)]);
    expect(ats(await audit.query({ kind: 'removal' }))).toEqual([iso(T0 + 2000)]);
    expect(ats(await audit.query({ outcome: 'queued' }))).toEqual([iso(T0)]);
    expect(await audit.query({ sessionId: 'nope' })).toEqual([]);
  });

  it('selects a time range, inclusive at both ends, and honours the limit', async () => {
    const ats = (records: AuditRecord[]) => records.map((r) => r.at);
    expect(ats(await audit.query({ since: T0 + 1000, until: T0 + 2000 }))).toEqual([iso(T0 + 2000), iso(T0 + 1000)]);
    expect(ats(await audit.query({ until: T0 + 999 }))).toEqual([iso(T0)]);
    expect(ats(await audit.query({ since: T0 + 1 }))).toEqual([iso(T0 + 2000), iso(T0 + 1000)]);
    expect(ats(await audit.query({ limit: 1 }))).toEqual([iso(T0 + 2000)]);
    expect(ats(await audit.query({ limit: 0 }))).toHaveLength(1);
  });

  it('accepts a record older than the newest (id moved just past it) and still finds it by time', async () => {
    const id = await audit.append({ at: iso(T0 + 500), kind: 'rule-hit', sessionId: 'late' });
    expect(id).toBe(`${T0 + 2000}-1`);
    const found = await audit.query({ sessionId: 'late', since: T0 + 500, until: T0 + 500 });
    expect(found.map((r) => r.at)).toEqual([iso(T0 + 500)]);
  });

  it('pages through many records, caps the limit at 1000 and trims past maxRecords', async () => {
    const capped = createAuditStore({ redis, keys: createKeys(`${config.keyPrefix}:capped`), maxRecords: 100 });
    const pipeline: Promise<string>[] = [];
    for (let i = 0; i < 1500; i++) pipeline.push(capped.append({ at: iso(T0 + i), kind: 'rule-hit', detail: { i } }));
    await Promise.all(pipeline);
    const length = await redis.xlen(`${config.keyPrefix}:capped:audit`);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(1500);

    const uncapped = createAuditStore({ redis, keys: createKeys(`${config.keyPrefix}:many`), maxRecords: 100_000 });
    await Promise.all(Array.from({ length: 1200 }, (_, i) => uncapped.append({ at: iso(T0 + i), kind: i % 2 ? 'odd' : 'even' })));
    const many = await uncapped.query({ limit: 5000 });
    expect(many).toHaveLength(1000);
    expect(many[0]?.at).toBe(iso(T0 + 1199));
    const odd = await uncapped.query({ kind: 'odd', limit: 1000 });
    expect(odd).toHaveLength(600);
  });

  it('stops after maxScan entries when little matches', async () => {
    const bounded = createAuditStore({ redis, keys: createKeys(`${config.keyPrefix}:many`), maxRecords: 100_000, maxScan: 250 });
    expect(await bounded.query({ kind: 'nothing' })).toEqual([]);
    expect((await bounded.query({ kind: 'odd', limit: 1000 })).length).toBe(125);
  });
});
