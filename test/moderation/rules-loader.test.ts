import { describe, expect, it } from 'vitest';
import type { Problem } from '../../src/shared/errors.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleFile } from '../../src/moderation/types.js';
import { typeIs } from '../helpers/rule-set.js';

function rule(name: string, conditions: unknown[], extra: Record<string, unknown> = {}) {
  return { name, conditions: { all: conditions }, event: { type: 'remove-participant' }, ...extra };
}

function file(path: string, content: unknown): RuleFile {
  return { path, content: typeof content === 'string' ? content : JSON.stringify(content, null, 2) };
}

function problemsOf(...files: RuleFile[]): Problem[] {
  const { ruleSet, problems } = loadRules(files, []);
  expect(ruleSet).toBeUndefined();
  expect(problems.length).toBeGreaterThan(0);
  return problems;
}

function expectProblem(problems: Problem[], path: string, message: RegExp): void {
  expect(problems, JSON.stringify(problems, null, 2)).toContainEqual({ path, message: expect.stringMatching(message) });
}

describe('loadRules', () => {
  it('compiles a valid rule set with defaults, reasons, event types, counters and lists', () => {
    const { ruleSet, problems } = loadRules(
      [
        file('a.json', [
          rule(
            'flood',
            [
              typeIs('chat-message'),
              {
                fact: 'eventCount',
                params: { type: 'chat-message', windowSeconds: 10, scope: 'participant' },
                operator: 'greaterThan',
                value: 5,
              },
            ],
            { description: 'Too fast' },
          ),
          rule(
            'blocked',
            [
              { fact: 'event', path: '$.type', operator: 'in', value: ['participant-joined', 'chat-message'] },
              { fact: 'event', path: '$.participantId', operator: 'inList', value: 'blocked' },
            ],
            {
              mode: 'shadow',
              priority: 9,
              event: { type: 'flag', params: { reason: 'Blocked' } },
            },
          ),
        ]),
        file(
          'b.json',
          rule(
            'disabled',
            [
              { fact: 'strikes', params: { windowSeconds: 60 }, operator: 'greaterThan', value: 1 },
              { fact: 'event', path: '$.data.text', operator: 'containsWord', value: { list: 'live-only' } },
            ],
            { mode: 'off' },
          ),
        ),
      ],
      [{ name: 'blocked', content: '# ids\n  p1 \n\np2\n' }],
    );
    expect(problems).toEqual([]);
    const rs = ruleSet!;
    expect(rs.version).toMatch(/^[0-9a-f]{12}$/);
    expect(rs.rules.map((r) => [r.name, r.mode, r.priority, r.action, r.reason, r.eventTypes])).toEqual([
      ['flood', 'enforce', 1, 'remove-participant', 'Too fast', ['chat-message']],
      ['blocked', 'shadow', 9, 'flag', 'Blocked', ['chat-message', 'participant-joined']],
      ['disabled', 'off', 1, 'remove-participant', 'disabled', undefined],
    ]);
    // The off rule's strikes window and list are not needed.
    expect(rs.counterSpecs).toEqual([{ type: 'chat-message', windowSeconds: 10, scope: 'participant' }]);
    expect(rs.strikeWindows).toEqual([]);
    expect(rs.referencedLists).toEqual(['blocked']);
    expect(rs.fileLists.get('blocked')).toEqual(['p1', 'p2']);
  });

  it('gives the same version for the same content and another for a change', () => {
    const a = loadRules([file('a.json', rule('x', [typeIs('chat-message')]))], []).ruleSet!.version;
    const b = loadRules([file('a.json', rule('x', [typeIs('chat-message')]))], []).ruleSet!.version;
    const c = loadRules([file('a.json', rule('x', [typeIs('chat-message')]))], [{ name: 'l', content: 'v' }]).ruleSet!.version;
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('reports malformed JSON with file, line and column', () => {
    const problems = problemsOf(file('broken.json', '{\n  "name": "x",\n}'));
    expect(problems).toEqual([{ path: 'broken.json:3:1', message: 'malformed JSON: Expected double-quoted property name' }]);
  });

  it('gives file:line:column also where V8 names no position (an unexpected token, a cut-short file)', () => {
    // V8's "Unexpected token" and "Unexpected end" messages carry no position of their own.
    const text = '{\n  "name": "x",\n  "tags": ["a", "b",],\n}';
    expect(problemsOf(file('comma.json', text))).toEqual([
      { path: 'comma.json:3:21', message: expect.stringMatching(/^malformed JSON: Unexpected token '\]'/) },
    ]);
    expect(problemsOf(file('cut.json', '[\n  {"name": "x"},\n  {"name": tru'))).toEqual([
      { path: 'cut.json:3:15', message: 'malformed JSON: Unexpected end of JSON input' },
    ]);
    expect(problemsOf(file('empty.json', ''))).toEqual([
      { path: 'empty.json:1:1', message: 'malformed JSON: Unexpected end of JSON input' },
    ]);
  });

  it('reports an unknown operator with file, rule and JSON path', () => {
    const problems = problemsOf(
      file('ops.json', rule('bad-op', [typeIs('chat-message'), { fact: 'event', path: '$.data.text', operator: 'regex', value: 'x' }])),
    );
    expectProblem(problems, 'ops.json#bad-op $.conditions.all[1].operator', /unknown operator "regex"/);
  });

  it('reports an unknown fact', () => {
    const problems = problemsOf(
      file('facts.json', rule('bad-fact', [{ any: [typeIs('x'), { fact: 'user', path: '$.x', operator: 'equal', value: 1 }] }])),
    );
    expectProblem(problems, 'facts.json#bad-fact $.conditions.all[0].any[1].fact', /unknown fact "user"/);
  });

  it('reports a bad regex with the RE2 error', () => {
    const problems = problemsOf(
      file('re.json', [
        rule('unclosed', [{ not: { fact: 'event', path: '$.participantName', operator: 'matchesPattern', value: '(admin' } }]),
        rule('lookahead', [{ fact: 'event', path: '$.participantName', operator: 'matchesPattern', value: 'a(?=b)' }]),
      ]),
    );
    expectProblem(problems, 're.json#unclosed $.conditions.all[0].not.value', /invalid RE2 pattern: .*missing closing \)/);
    expectProblem(problems, 're.json#lookahead $.conditions.all[0].value', /invalid RE2 pattern/);
  });

  it('reports duplicate names naming both files', () => {
    const problems = problemsOf(file('one.json', rule('same', [typeIs('x')])), file('two.json', rule('same', [typeIs('y')])));
    expectProblem(problems, 'two.json#same $.name', /duplicate rule name "same": already defined in one\.json/);
  });

  it('reports a bad mode, a bad action, a bad name and unknown keys', () => {
    const problems = problemsOf(
      file('shape.json', [
        rule('moded', [typeIs('x')], { mode: 'loud' }),
        rule('acted', [typeIs('x')], { event: { type: 'ban' } }),
        rule('Not A Slug', [typeIs('x')]),
        rule('typo', [typeIs('x')], { mdoe: 'shadow' }),
        { conditions: { all: [typeIs('x')] }, event: { type: 'flag' } },
      ]),
    );
    expectProblem(problems, 'shape.json#moded $.mode', /must be "enforce", "shadow" or "off"/);
    expectProblem(problems, 'shape.json#acted $.event.type', /must be "remove-participant", "review", "flag" or "lockdown"/);
    expectProblem(problems, 'shape.json#Not A Slug $.name', /must be a slug/);
    expectProblem(problems, 'shape.json#typo $', /mdoe/);
    expectProblem(problems, 'shape.json#(rule 4) $.name', /is required/);
  });

  it('reports bad eventCount, strikes and operator values', () => {
    const problems = problemsOf(
      file('params.json', [
        rule('counts', [
          { fact: 'eventCount', params: { type: 'chat-message', windowSeconds: 0, scope: 'room' }, operator: 'greaterThan', value: 1 },
          {
            fact: 'eventCount',
            params: { type: 'chat-message', windowSeconds: 100_000, scope: 'session' },
            operator: 'greaterThan',
            value: 1,
          },
          { fact: 'strikes', params: { window: 60 }, operator: 'greaterThan', value: '2' },
        ]),
        rule('values', [
          { fact: 'event', path: '$.data.text', operator: 'containsWord', value: 42 },
          { fact: 'event', path: '$.data.text', operator: 'containsWord', value: { list: 'a', extra: 1 } },
          { fact: 'event', path: '$.participantId', operator: 'inList', value: ['a'] },
          { fact: 'event', path: '$.type', operator: 'in', value: 'chat-message' },
          { condition: 'shared' },
          { fact: 'event', path: 'data.text', operator: 'equal', value: 'x' },
        ]),
      ]),
    );
    expectProblem(problems, 'params.json#counts $.conditions.all[0].params.windowSeconds', /at least 1/);
    expectProblem(problems, 'params.json#counts $.conditions.all[0].params.scope', /"participant" or "session"/);
    expectProblem(problems, 'params.json#counts $.conditions.all[1].params.windowSeconds', /at most 86400/);
    expectProblem(problems, 'params.json#counts $.conditions.all[2].params', /window/);
    expectProblem(problems, 'params.json#counts $.conditions.all[2].value', /must be a number/);
    expectProblem(problems, 'params.json#values $.conditions.all[0].value', /word or phrase/);
    expectProblem(problems, 'params.json#values $.conditions.all[1].value', /\{"list": "NAME"\}/);
    expectProblem(problems, 'params.json#values $.conditions.all[2].value', /list name/);
    expectProblem(problems, 'params.json#values $.conditions.all[3].value', /must be an array/);
    expectProblem(problems, 'params.json#values $.conditions.all[4].condition', /shared condition references are not supported/);
    expectProblem(problems, 'params.json#values $.conditions.all[5].path', /starting with "\$"/);
  });

  it('accepts json-rules-engine decorators on built-in operators, not on ours', () => {
    const ok = loadRules([file('d.json', rule('deco', [{ fact: 'event', path: '$.type', operator: 'not:equal', value: 'x' }]))], []);
    expect(ok.problems).toEqual([]);
    const problems = problemsOf(
      file('d.json', rule('deco', [{ fact: 'event', path: '$.data.text', operator: 'not:containsWord', value: 'x' }])),
    );
    expectProblem(problems, 'd.json#deco $.conditions.all[0].operator', /cannot be combined with decorators/);
  });

  it('does not treat a list missing from the folder as an error', () => {
    const { ruleSet, problems } = loadRules(
      [file('l.json', rule('live', [{ fact: 'event', path: '$.participantId', operator: 'notInList', value: 'vip' }]))],
      [],
    );
    expect(problems).toEqual([]);
    expect(ruleSet!.referencedLists).toEqual(['vip']);
    expect(ruleSet!.fileLists.has('vip')).toBe(false);
  });
});

describe('loadRules reports every problem in one run', () => {
  it('lists shape, params, condition, duplicate-name, JSON and list problems together, not stage by stage', () => {
    const { ruleSet, problems } = loadRules(
      [
        file('a.json', [
          // A shape problem (mode) beside params problems: the params are checked all the same.
          rule('first', [typeIs('chat-message'), { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '(' }], {
            mode: 'enforced',
            event: { type: 'remove-participant', params: { reason: '', banFor: 'forever', budget: 'lots' } },
          }),
          // Its name repeats one whose rule has other problems; an unknown operator too.
          rule('first', [{ fact: 'event', path: '$.type', operator: 'equalz', value: 'x' }], { priority: 0 }),
          // A bad action with params that would be wrong for any action.
          rule('second', [typeIs('participant-joined')], { event: { type: 'kick', params: { reason: 7, banFor: '-1h' } } }),
          rule('third', [typeIs('chat-message')], { event: { type: 'lockdown', params: { for: 'a while' } }, colour: 'red' }),
        ]),
        file('b.json', '{ "name": "broken", '),
      ],
      [{ name: 'Bad Name', content: 'x\n' }],
    );
    expect(ruleSet).toBeUndefined();
    const seen = problems.map((p) => `${p.path}: ${p.message}`);
    const expected = [
      /^a\.json#first \$\.mode: /,
      /^a\.json#first \$\.event\.params\.reason: must be a non-empty string/,
      /^a\.json#first \$\.event\.params\.banFor: /,
      /^a\.json#first \$\.event\.params\.budget: /,
      /^a\.json#first \$\.conditions\.all\[1\]\.value: /,
      /^a\.json#first \$\.name: duplicate rule name "first"/,
      /^a\.json#first \$\.priority: /,
      /^a\.json#first \$\.conditions\.all\[0\]\.operator: /,
      /^a\.json#second \$\.event\.type: /,
      /^a\.json#second \$\.event\.params\.reason: must be a non-empty string/,
      /^a\.json#second \$\.event\.params\.banFor: /,
      /^a\.json#third: .*colour|^a\.json#third \$: .*colour/,
      /^a\.json#third \$\.event\.params\.for: /,
      /^b\.json/,
      /^lists\/Bad Name\.txt: list name must be/,
    ];
    for (const pattern of expected) expect(seen, `${pattern} in\n${seen.join('\n')}`).toContainEqual(expect.stringMatching(pattern));
  });
});

describe('loadRules suggestions', () => {
  it('suggests the operator or fact that was probably meant', () => {
    const { problems } = loadRules(
      [
        file('typos.json', [
          rule('a', [{ fact: 'event', path: '$.data.text', operator: 'contains_word', value: 'x' }]),
          rule('b', [{ fact: 'event', path: '$.data.text', operator: 'matchPattern', value: 'x' }]),
          rule('c', [{ fact: 'evnet', path: '$.type', operator: 'equal', value: 'x' }]),
          rule('d', [{ fact: 'event', path: '$.type', operator: 'frobnicate', value: 'x' }]),
          rule('e', [{ fact: 'event', path: '$.type', operator: 'bogus:equal', value: 'x' }]),
        ]),
      ],
      [],
    );
    expectProblem(
      problems,
      'typos.json#a $.conditions.all[0].operator',
      /^unknown operator "contains_word" \(did you mean "containsWord"\?\): use one of/,
    );
    expectProblem(
      problems,
      'typos.json#b $.conditions.all[0].operator',
      /^unknown operator "matchPattern" \(did you mean "matchesPattern"\?\)/,
    );
    expectProblem(problems, 'typos.json#c $.conditions.all[0].fact', /^unknown fact "evnet" \(did you mean "event"\?\)/);
    expectProblem(problems, 'typos.json#d $.conditions.all[0].operator', /^unknown operator "frobnicate": use one of/);
    expectProblem(problems, 'typos.json#e $.conditions.all[0].operator', /^unknown operator "bogus:equal": use one of .*\(decorators: /);
  });
});
