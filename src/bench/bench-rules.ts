import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRules } from '../moderation/rules-loader.js';
import { readRulesFolder } from '../rules/rules-source.js';

const notStaff = { fact: 'event', path: '$.data.role', operator: 'notIn', value: ['host', 'moderator'] };
const typeIs = (type: string) => ({ fact: 'event', path: '$.type', operator: 'equal', value: type });
const count = (type: string, windowSeconds: number, scope: 'participant' | 'session') => ({ type, windowSeconds, scope });

/**
 * The rules the benchmark adds to the shipped ones, up to 30 in all (21 beside the first shipped 9): the kinds a real policy grows
 * (word lists, patterns, per-participant and per-session windows, strikes, shadow and flag rules,
 * a rule for every event type and one for a custom type), tuned so that benign traffic fires none.
 * Windows stay at 60 s or less so counters expire soon after the run (the memory check).
 */
export const EXTRA_RULES: readonly object[] = [
  {
    name: 'bench-harassment-words',
    priority: 40,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'event', path: '$.data.text', operator: 'containsWord', value: { list: 'bench-harassment' } },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Harassment' } },
  },
  {
    name: 'bench-threat-words',
    priority: 45,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'event', path: '$.data.text', operator: 'containsWord', value: ['i will find you', 'you will regret', 'watch your back'] },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Threats' } },
  },
  {
    name: 'bench-profanity-flag',
    mode: 'enforce',
    priority: 3,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'event', path: '$.data.text', operator: 'containsWord', value: ['darn', 'heck', 'frick', 'dang it'] },
      ],
    },
    event: { type: 'flag', params: { reason: 'Mild profanity' } },
  },
  {
    name: 'bench-link-shortener',
    priority: 15,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '(?i)\\b(bit\\.ly|tinyurl\\.com|t\\.co|goo\\.gl)/\\S+' },
        notStaff,
      ],
    },
    event: { type: 'flag', params: { reason: 'Shortened link' } },
  },
  {
    name: 'bench-invite-link',
    priority: 35,
    conditions: {
      all: [
        typeIs('chat-message'),
        {
          fact: 'event',
          path: '$.data.text',
          operator: 'matchesPattern',
          value: '(?i)(discord\\.gg|t\\.me|chat\\.whatsapp\\.com)/[a-z0-9]+',
        },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Invite links to other communities' } },
  },
  {
    name: 'bench-shouting',
    mode: 'shadow',
    priority: 2,
    conditions: {
      all: [
        typeIs('chat-message'),
        // Letter case is what it tests: the raw text, not the folded one.
        { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '^[^a-z]*[A-Z]{12,}[^a-z]*$', params: { exact: true } },
        notStaff,
      ],
    },
    event: { type: 'flag', params: { reason: 'Shouting' } },
  },
  {
    name: 'bench-card-number',
    priority: 60,
    conditions: {
      all: [typeIs('chat-message'), { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '\\b(?:\\d[ -]?){13,16}\\b' }],
    },
    event: { type: 'flag', params: { reason: 'Looks like a card number' } },
  },
  {
    name: 'bench-chat-burst-30s',
    priority: 18,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'eventCount', params: count('chat-message', 30, 'participant'), operator: 'greaterThanInclusive', value: 20 },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Chat flooding (30 s)' } },
  },
  {
    name: 'bench-session-chat-storm',
    mode: 'shadow',
    priority: 1,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'eventCount', params: count('chat-message', 10, 'session'), operator: 'greaterThanInclusive', value: 800 },
      ],
    },
    event: { type: 'flag', params: { reason: 'Whole session is flooding' } },
  },
  {
    name: 'bench-strikes-then-out',
    priority: 25,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'strikes', params: { windowSeconds: 300 }, operator: 'greaterThanInclusive', value: 4 },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Too many strikes' } },
  },
  {
    name: 'bench-join-invite-name',
    priority: 55,
    conditions: {
      all: [
        typeIs('participant-joined'),
        { fact: 'event', path: '$.participantName', operator: 'matchesPattern', value: '(?i)(discord\\.gg|t\\.me/|https?://)' },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Advertising in display name' } },
  },
  {
    name: 'bench-join-banned-name',
    priority: 45,
    conditions: {
      all: [
        typeIs('participant-joined'),
        { fact: 'event', path: '$.participantName', operator: 'containsWord', value: { list: 'banned-words' } },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Offensive display name' } },
  },
  {
    name: 'bench-session-join-storm',
    mode: 'shadow',
    priority: 1,
    conditions: {
      all: [
        typeIs('participant-joined'),
        { fact: 'eventCount', params: count('participant-joined', 60, 'session'), operator: 'greaterThanInclusive', value: 400 },
      ],
    },
    event: { type: 'flag', params: { reason: 'Join storm on the session' } },
  },
  {
    name: 'bench-rename-banned-name',
    priority: 45,
    conditions: {
      all: [
        typeIs('participant-renamed'),
        { fact: 'event', path: '$.data.name', operator: 'containsWord', value: { list: 'bench-harassment' } },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Offensive display name' } },
  },
  {
    name: 'bench-rename-burst-30s',
    priority: 12,
    conditions: {
      all: [
        typeIs('participant-renamed'),
        { fact: 'eventCount', params: count('participant-renamed', 30, 'participant'), operator: 'greaterThanInclusive', value: 3 },
        notStaff,
      ],
    },
    event: { type: 'flag', params: { reason: 'Renaming often' } },
  },
  {
    name: 'bench-leave-rejoin-loop',
    mode: 'shadow',
    priority: 8,
    conditions: {
      all: [
        typeIs('participant-left'),
        { fact: 'eventCount', params: count('participant-left', 60, 'participant'), operator: 'greaterThanInclusive', value: 5 },
      ],
    },
    event: { type: 'flag', params: { reason: 'Leave and rejoin loop' } },
  },
  {
    name: 'bench-any-scam-signal',
    priority: 38,
    conditions: {
      all: [
        typeIs('chat-message'),
        {
          any: [
            { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '(?i)\\b(usdt|btc|eth)\\s+(giveaway|airdrop)\\b' },
            { fact: 'event', path: '$.data.text', operator: 'containsWord', value: ['seed phrase', 'recovery phrase', 'wallet drainer'] },
          ],
        },
        notStaff,
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Crypto scam' } },
  },
  {
    name: 'bench-guest-links',
    priority: 9,
    conditions: {
      all: [
        typeIs('chat-message'),
        { fact: 'event', path: '$.data.role', operator: 'equal', value: 'guest' },
        { not: { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '(?i)videosdk\\.live' } },
        { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '(?i)https?://' },
      ],
    },
    event: { type: 'flag', params: { reason: 'Guest posting outside links' } },
  },
  {
    name: 'bench-blocked-session-chat',
    priority: 90,
    conditions: {
      all: [
        { fact: 'event', path: '$.type', operator: 'in', value: ['chat-message', 'participant-joined'] },
        { fact: 'event', path: '$.participantId', operator: 'inList', value: 'bench-blocked' },
      ],
    },
    event: { type: 'remove-participant', params: { reason: 'Blocked (bench list)' } },
  },
  {
    name: 'bench-abuse-report',
    priority: 70,
    conditions: {
      all: [typeIs('abuse-report'), { fact: 'event', path: '$.data.reports', operator: 'greaterThanInclusive', value: 3 }, notStaff],
    },
    event: { type: 'remove-participant', params: { reason: 'Reported by several participants' } },
  },
  {
    name: 'bench-recording-watch',
    mode: 'shadow',
    priority: 1,
    conditions: {
      all: [typeIs('recording-started'), { fact: 'event', path: '$.data.by', operator: 'notInList', value: 'bench-recorders' }],
    },
    event: { type: 'flag', params: { reason: 'Recording started by someone unexpected' } },
  },
];

const LISTS: Record<string, string[]> = {
  'bench-harassment': ['loser', 'get lost creep', 'nobody likes you', 'go away freak', 'trash human'],
  'bench-blocked': Array.from({ length: 200 }, (_, i) => `blocked-bench-${i}`),
  'bench-recorders': ['host-recorder', 'ops-recorder'],
};

/** Rules in the benchmark's policy, whatever the shipped policy holds (the workload). */
export const BENCH_RULE_COUNT = 30;

/**
 * Writes the benchmark's rules folder into `dir`: the shipped rules and lists (`shippedDir`) plus
 * as many of `EXTRA_RULES` (and their lists) as make `BENCH_RULE_COUNT` rules in all.
 */
export async function writeBenchRules(dir: string, shippedDir: string): Promise<void> {
  await cp(shippedDir, dir, { recursive: true });
  await mkdir(join(dir, 'lists'), { recursive: true });
  const shipped = await readRulesFolder(dir);
  const shippedRules = loadRules(shipped.files, shipped.lists).ruleSet?.rules.length ?? 0;
  const extra = EXTRA_RULES.slice(0, Math.max(0, BENCH_RULE_COUNT - shippedRules));
  await writeFile(join(dir, 'bench-extra.json'), `${JSON.stringify(extra, null, 2)}\n`);
  for (const [name, values] of Object.entries(LISTS)) {
    await writeFile(join(dir, 'lists', `${name}.txt`), `${values.join('\n')}\n`);
  }
}
