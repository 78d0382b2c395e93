import { readFile, readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { formatRuleTest, runRuleTest, type RuleTestReport } from '../../src/moderation/rule-test.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleSet } from '../../src/moderation/types.js';
import { readRulesFolder } from '../../src/rules/rules-source.js';

const FIXTURES = 'test/fixtures/rules';

describe('shipped rules', () => {
  let ruleSet: RuleSet;
  const reports = new Map<string, RuleTestReport>();
  const fixtureLines = new Map<string, string[]>();

  beforeAll(async () => {
    const { files, lists } = await readRulesFolder('rules');
    const loaded = loadRules(files, lists);
    expect(loaded.problems).toEqual([]);
    ruleSet = loaded.ruleSet!;
    for (const file of (await readdir(FIXTURES)).filter((f) => f.endsWith('.jsonl')).sort()) {
      const lines = (await readFile(`${FIXTURES}/${file}`, 'utf8')).split('\n');
      fixtureLines.set(basename(file, '.jsonl'), lines);
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
      expect(
        relevant.some((r) => r.fired.includes(rule.name)),
        `${rule.name} fires`,
      ).toBe(true);
      expect(
        relevant.some((r) => !r.fired.includes(rule.name)),
        `${rule.name} does not fire`,
      ).toBe(true);
    }
  });

  it('exempt hosts and moderators: every event that fires a rule fires nothing when it comes from one', async () => {
    // The block list is by participant id: a blocked id does not escape by claiming a role. The
    // join wave is about the meeting, not who joins: a host's join can be the one that locks it.
    const byId = new Set(['blocked-participant', 'join-wave']);
    let checked = 0;
    for (const [file, report] of reports) {
      const lines = fixtureLines.get(file)!;
      for (const result of report.results) {
        const exempt = result.fired.filter((r) => !byId.has(r));
        if (exempt.length === 0) continue;
        for (const role of ['host', 'moderator']) {
          // The same fixture file with only this event's role changed (windows and strikes intact).
          const changed = lines.map((text, i) => {
            if (i !== result.line - 1) return text;
            const value = JSON.parse(text) as { data?: Record<string, unknown> };
            return JSON.stringify({ ...value, data: { ...value.data, role }, expect: undefined });
          });
          const rerun = await runRuleTest(ruleSet, changed, createStaticListSource(ruleSet.fileLists));
          const same = rerun.results.find((r) => r.line === result.line)!;
          expect(
            same.fired.filter((r) => !byId.has(r)),
            `${file}.jsonl line ${result.line} as ${role}`,
          ).toEqual([]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    // Every rule but the block list is among those checked.
    const firing = new Set([...reports.values()].flatMap((r) => r.results.flatMap((x) => x.fired)));
    expect([...firing].filter((r) => !byId.has(r)).sort()).toEqual(
      ruleSet.rules
        .map((r) => r.name)
        .filter((r) => !byId.has(r))
        .sort(),
    );
  });

  it('ship at least one rule in shadow mode, and report its hits as shadow', () => {
    const shadow = ruleSet.rules.filter((r) => r.mode === 'shadow');
    expect(shadow.length).toBeGreaterThan(0);
    const hits = [...reports.values()].flatMap((r) => r.results.flatMap((x) => x.hits));
    for (const rule of shadow) expect(hits.filter((h) => h.rule === rule.name).every((h) => h.mode === 'shadow')).toBe(true);
  });
});
