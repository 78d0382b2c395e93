import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_RULE_COUNT, writeBenchRules } from '../../src/bench/bench-rules.js';
import { createPacedEvents, saturationEvents } from '../../src/bench/workload.js';
import type { MeetingEvent } from '../../src/shared/event-schema.js';
import { createEvaluator } from '../../src/moderation/evaluate.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { createMemoryCounters } from '../../src/moderation/memory-counters.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleHit, RuleSet } from '../../src/moderation/types.js';
import { readRulesFolder } from '../../src/rules/rules-source.js';

// The evaluator's fast paths (rules the pre-check rules out, and rules it finds certain to fire,
// both without json-rules-engine) must decide exactly what json-rules-engine alone decides. Checked
// on the benchmark's 30 rules and its traffic, with real counters and strikes, hits included.
describe('evaluation with the pre-check, on the benchmark rules and traffic', () => {
  let dir: string;
  let ruleSet: RuleSet;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'automod-parity-'));
    await writeBenchRules(dir, 'rules');
    const folder = await readRulesFolder(dir);
    const loaded = loadRules(folder.files, folder.lists);
    if (!loaded.ruleSet) throw new Error(JSON.stringify(loaded.problems));
    ruleSet = loaded.ruleSet;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same hits as json-rules-engine alone', async () => {
    expect(ruleSet.rules).toHaveLength(BENCH_RULE_COUNT);
    const lists = createStaticListSource(ruleSet.fileLists);
    const fast = createEvaluator(ruleSet, { lists: () => lists });
    const plain = createEvaluator(ruleSet, { lists: () => lists, prefilter: false });
    const paced = createPacedEvents();
    const events: MeetingEvent[] = [
      ...saturationEvents(3000, Date.UTC(2026, 10, 25, 10)).events,
      ...Array.from({ length: 1000 }, (_, i) => paced(i, Date.UTC(2026, 10, 25, 11) + i * 5).event),
      // Flooders, so that counter and strike rules fire too.
      ...Array.from({ length: 60 }, (_, i): MeetingEvent => ({
        id: `flood-${i}`,
        type: 'chat-message',
        sessionId: 'flood-session',
        participantId: 'flooder',
        timestamp: new Date(Date.UTC(2026, 10, 25, 12) + i * 200).toISOString(),
        data: { text: i % 2 === 0 ? 'check out my channel' : 'hi', role: 'participant' },
      })),
    ];
    const counters = createMemoryCounters(ruleSet);
    let fired = 0;
    const rules = new Set<string>();
    for (const [i, event] of events.entries()) {
      const facts = counters.observe(event);
      const hits: RuleHit[] = await fast.evaluate(event, facts);
      expect(hits, `event ${i} (${event.id})`).toEqual(await plain.evaluate(event, facts));
      counters.recordHits(event, hits);
      fired += hits.length;
      for (const h of hits) rules.add(h.rule);
    }
    expect(fired).toBeGreaterThan(100);
    expect(rules.size).toBeGreaterThanOrEqual(8);
  });
});
