import { readFile, readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { formatRuleTest, runRuleTest, type RuleTestReport } from '../../src/moderation/rule-test.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleSet } from '../../src/moderation/types.js';
import { readRulesFolder } from '../../src/rules-source.js';

const FIXTURES = 'test/fixtures/rules';

describe('shipped rules', () => {
  let ruleSet: RuleSet;
  const reports = new Map<string, RuleTestReport>();

  beforeAll(async () => {
    const { files, lists } = await readRulesFolder('rules');
    const loaded = loadRules(files, lists);
    expect(loaded.problems).toEqual([]);
    ruleSet = loaded.ruleSet!;
    for (const file of (await readdir(FIXTURES)).filter((f) => f.endsWith('.jsonl')).sort()) {
      const lines = (await readFile(`${FIXTURES}/${file}`, 'utf8')).split('\n');
      reports.set(basename(file, '.jsonl'), await runRuleTest(ruleSet, lines, createStaticListSource(ruleSet.fileLists)));
    }
  });

  it('load with zero problems, every referenced list shipped', () => {
    expect(ruleSet.rules.length).toBeGreaterThan(0);
    for (const list of ruleSet.referencedLists) expect(ruleSet.fileLists.has(list), list).toBe(true);
  });

  it('have a fixtures file per rule file, and every fixture meets its expectations', () => {
    const ruleFiles = new Set(ruleSet.rules.map((r) => basename(r.file, '.json')));
    expect([...reports.keys()].sort()).toEqual([...ruleFiles].sort());
    for (const [file, report] of reports) {
      expect(report.summary.ok, `${file}.jsonl\n${formatRuleTest(report).join('\n')}`).toBe(true);
      expect(report.summary.checked, file).toBe(report.summary.events);
    }
  });

  it('show each rule firing and not firing on an event of a type it can match', () => {
    for (const rule of ruleSet.rules) {
      const report = reports.get(basename(rule.file, '.json'))!;
      const relevant = report.results.filter((r) => r.event && (rule.eventTypes?.includes(r.event.type) ?? true));
      expect(relevant.some((r) => r.fired.includes(rule.name)), `${rule.name} fires`).toBe(true);
      expect(relevant.some((r) => !r.fired.includes(rule.name)), `${rule.name} does not fire`).toBe(true);
    }
  });

  it('ship at least one rule in shadow mode, and report its hits as shadow', () => {
    const shadow = ruleSet.rules.filter((r) => r.mode === 'shadow');
    expect(shadow.length).toBeGreaterThan(0);
    const hits = [...reports.values()].flatMap((r) => r.results.flatMap((x) => x.hits));
    for (const rule of shadow) expect(hits.filter((h) => h.rule === rule.name).every((h) => h.mode === 'shadow')).toBe(true);
  });
});
