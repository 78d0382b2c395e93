import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/shared/metrics.js';

const SUFFIXES = ['_bucket', '_sum', '_count'];

/** Every metric the worker exposes, with the series a histogram adds. */
async function exposedNames(): Promise<Set<string>> {
  const metrics = createMetrics({ queues: () => [], removalsRateLimitedUntil: () => Promise.resolve(undefined) });
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of SUFFIXES) names.add(metric.name + suffix);
  }
  return names;
}

/** The automod_* names a monitoring file refers to. */
async function namesIn(path: string): Promise<string[]> {
  const text = await readFile(new URL(`../../${path}`, import.meta.url), 'utf8');
  return [...new Set([...text.matchAll(/\bautomod_[a-z0-9_]+/g)].map((m) => m[0]))];
}

describe('shipped monitoring files', () => {
  for (const path of ['deploy/prometheus/alerts.yml', 'deploy/grafana/automod-dashboard.json']) {
    it(`${path} names only metrics the worker exposes`, async () => {
      const exposed = await exposedNames();
      const named = await namesIn(path);
      expect(named.length).toBeGreaterThan(3);
      expect(named.filter((name) => !exposed.has(name))).toEqual([]);
    });
  }

  it('the metrics table of docs/reference.md names every metric the worker exposes', async () => {
    const readme = await readFile(new URL('../../docs/reference.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `automod_'));
    const own = [...(await exposedNames())].filter(
      (name) => !/^automod_(process|nodejs)_/.test(name) && !SUFFIXES.some((s) => name.endsWith(s)),
    );
    expect(own.length).toBeGreaterThan(10);
    expect(own.filter((name) => !rows.some((row) => row.includes(`\`${name}\``)))).toEqual([]);
  });

  it('the dashboard is valid JSON with a query in every panel', async () => {
    const text = await readFile(new URL('../../deploy/grafana/automod-dashboard.json', import.meta.url), 'utf8');
    const dashboard = JSON.parse(text) as { panels: { title: string; targets: { expr: string }[] }[] };
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0);
  });
});
