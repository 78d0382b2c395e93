import { it } from 'vitest';
import type { MeetingEvent } from '../../src/events/event-schema.js';
import { createEvaluator } from '../../src/moderation/evaluate.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { createMemoryCounters } from '../../src/moderation/memory-counters.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import { readRulesFolder } from '../../src/rules-source.js';

it('bench', async () => {
  const { files, lists } = await readRulesFolder('rules');
  const extra = [];
  for (let i = 0; i < 21; i++) {
    const kind = i % 3;
    const cond =
      kind === 0
        ? { fact: 'event', path: '$.data.text', operator: 'containsWord', value: [`badword${i}`, `bad phrase ${i}`] }
        : kind === 1
          ? { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: `(?i)\\bspam${i}\\d+` }
          : { fact: 'eventCount', params: { type: 'chat-message', windowSeconds: 30 + i, scope: 'session' }, operator: 'greaterThan', value: 100_000 };
    extra.push({
      name: `extra-${i}`,
      priority: 1 + i,
      conditions: { all: [{ fact: 'event', path: '$.type', operator: i % 7 === 6 ? 'in' : 'equal', value: i % 7 === 6 ? ['chat-message', 'participant-joined'] : 'chat-message' }, cond, { fact: 'event', path: '$.data.role', operator: 'notIn', value: ['host'] }] },
      event: { type: 'flag' },
    });
  }
  files.push({ path: 'extra.json', content: JSON.stringify(extra) });
  const { ruleSet, problems } = loadRules(files, lists);
  if (!ruleSet) throw new Error(JSON.stringify(problems));
  console.log('rules', ruleSet.rules.length);
  const listSource = createStaticListSource(ruleSet.fileLists);
  const texts = ['hello everyone', 'can you hear me?', 'I think the slide deck is great, thanks for sharing it with us today', 'ok', 'brb 5 min', 'Ça va? très bien merci'];
  const events: MeetingEvent[] = [];
  for (let i = 0; i < 20000; i++) {
    const r = i % 20;
    const t = new Date(Date.UTC(2026, 0, 1) + i * 50).toISOString();
    const participantId = `p${i % 300}`;
    if (r === 0) events.push({ id: `e${i}`, type: 'participant-joined', sessionId: 's1', participantId, participantName: `User ${i}`, timestamp: t, data: {} });
    else if (r === 1) events.push({ id: `e${i}`, type: 'participant-renamed', sessionId: 's1', participantId, timestamp: t, data: { name: `User ${i}` } });
    else events.push({ id: `e${i}`, type: 'chat-message', sessionId: 's1', participantId, timestamp: t, data: { text: texts[i % texts.length]! } });
  }
  const counters = createMemoryCounters(ruleSet);
  const facts = events.map((e) => counters.observe(e));
  for (const prefilter of [false, true]) {
    const ev = createEvaluator(ruleSet, { lists: () => listSource, prefilter });
    for (let round = 0; round < 3; round++) {
      const n = prefilter ? events.length : 5000;
      const start = performance.now();
      let hits = 0;
      for (let i = 0; i < n; i++) hits += (await ev.evaluate(events[i]!, facts[i]!)).length;
      const ms = performance.now() - start;
      console.log(`prefilter=${prefilter} ${Math.round((n / ms) * 1000)} events/s hits=${hits}`);
    }
    // concurrent
    const start = performance.now();
    const n = prefilter ? events.length : 5000;
    const batch = 100;
    for (let i = 0; i < n; i += batch) {
      await Promise.all(events.slice(i, i + batch).map((e, k) => ev.evaluate(e, facts[i + k]!)));
    }
    console.log(`prefilter=${prefilter} concurrent(100) ${Math.round((n / (performance.now() - start)) * 1000)} events/s`);
  }
  const start = performance.now();
  for (let i = 0; i < events.length; i++) counters.observe(events[i]!);
  console.log(`memory counters observe ${Math.round((events.length / (performance.now() - start)) * 1000)} events/s`);
}, 120_000);
