import { afterAll, describe, expect, it } from 'vitest';
import { pairs, table } from '../../src/cli/format.js';
import { esc, terminalOutput, terminalText } from '../../src/shared/terminal-text.js';
import { createAuditStore } from '../../src/store/audit.js';
import { createKeys } from '../../src/store/keys.js';
import { runCli } from '../helpers/cli.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

// A participant id or name is written by whoever joins a meeting: printed raw, it retitles the
// operator's terminal (OSC 0), clears it (CSI 2J), forges a row (a newline) or reverses what
// follows (U+202E).
const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J';
const HOSTILE_ID = `p-${TITLE}${CLEAR}\nforged-row  removed  ok\u202eevil`;
const HOSTILE_REASON = `name: Admin${CLEAR}\u2066Team\u2069\r\x7f\x9b`;
const RAW = ['\x1b', '\x07', '\u202e', '\u2066', '\u2069', '\r', '\x7f', '\x9b'];

const prefix = uniquePrefix('escapes');
const config = testConfig(prefix);
const { redis, cleanup } = testRedis(config);
const env = { REDIS_URL, AUTOMOD_PREFIX: prefix, USER: 'tester' };
afterAll(async () => {
  await cleanup();
});

describe('text shown in a terminal', () => {
  it('escapes C0, DEL, C1, bidi controls and newlines visibly, and keeps ordinary text', () => {
    expect(terminalText(HOSTILE_ID)).toBe('p-\\x1b]0;pwned\\x07\\x1b[2J\\nforged-row  removed  ok\\u202eevil');
    expect(terminalText('Zoë 🙂 naïve\\path')).toBe('Zoë 🙂 naïve\\path');
    expect(terminalText('a\tb\u0000c\u2028d')).toBe('a\\tb\\x00c\\u2028d');
    // Output keeps its own line breaks; JSON stays JSON with the same values.
    expect(terminalOutput(`one\ntwo${CLEAR}\n`)).toBe('one\ntwo\\x1b[2J\n');
    const json = `${JSON.stringify({ id: HOSTILE_ID, reason: HOSTILE_REASON }, null, 2)}\n`;
    const shown = terminalOutput(json);
    for (const raw of RAW) expect(shown).not.toContain(raw);
    expect(JSON.parse(shown)).toEqual({ id: HOSTILE_ID, reason: HOSTILE_REASON });
    expect(esc`removed ${HOSTILE_ID} (${3})\n`).toBe(`removed ${terminalText(HOSTILE_ID)} (3)\n`);
  });

  it('a table cell or a pair stays one visible cell on one line', () => {
    const text = table(['participant', 'outcome'], [[HOSTILE_ID, 'removed']]);
    expect(text.split('\n')).toHaveLength(3);
    for (const raw of RAW) expect(text).not.toContain(raw);
    expect(text).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\nforged-row');
    const lines = pairs([
      ['participantId', HOSTILE_ID],
      ['reason', HOSTILE_REASON],
    ]);
    expect(lines.split('\n')).toHaveLength(2);
    for (const raw of RAW) expect(lines).not.toContain(raw);
  });

  it('automod audit, run as an operator runs it, never prints the raw bytes (text, JSON, and the logs)', async () => {
    const audit = createAuditStore({ redis, keys: createKeys(config.keyPrefix), maxRecords: 1000 });
    await audit.append({
      at: new Date().toISOString(),
      kind: 'rule-hit',
      sessionId: `s-${TITLE}`,
      participantId: HOSTILE_ID,
      rule: 'impersonating-staff',
      mode: 'enforce',
      outcome: 'queued',
      reason: HOSTILE_REASON,
    });

    const text = await runCli(['audit'], env);
    expect(text.code, text.stderr).toBe(0);
    for (const raw of RAW) expect(text.stdout, JSON.stringify(raw)).not.toContain(raw);
    expect(text.stdout).toContain('p-\\x1b]0;pwned\\x07\\x1b[2J\\nforged-row');
    expect(text.stdout).toContain('\\u202eevil');
    expect(text.stdout).toContain('s-\\x1b]0;pwned\\x07');
    expect(text.stdout).toContain('Admin\\x1b[2J\\u2066Team\\u2069\\r\\u007f\\u009b');
    // The record is one row: header, rule, row, count; no line starts with the forged text.
    expect(text.stdout.split('\n').filter((l) => l.startsWith('forged-row'))).toEqual([]);
    expect(text.stdout).toContain('1 record(s)');

    // --json is JSON: the same values, no raw control or bidi character on the wire.
    const json = await runCli(['audit', '--json'], env);
    expect(json.code).toBe(0);
    for (const raw of RAW) expect(json.stdout).not.toContain(raw);
    const [record] = (JSON.parse(json.stdout) as { records: { participantId: string; reason: string }[] }).records;
    expect(record).toMatchObject({ participantId: HOSTILE_ID, reason: HOSTILE_REASON });

    // A command that logs the id (ban made) with LOG_FORMAT=pretty, and says it on stdout.
    const banned = await runCli(['ban', '--participant', HOSTILE_ID, '--meeting', 'm-1', '--for', '1h'], {
      ...env,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'pretty',
    });
    expect(banned.code, banned.stderr).toBe(0);
    expect(banned.stderr).toMatch(/ban made/);
    for (const raw of RAW) {
      expect(banned.stdout, JSON.stringify(raw)).not.toContain(raw);
      expect(banned.stderr, JSON.stringify(raw)).not.toContain(raw);
    }
    expect(banned.stdout).toContain(`banned ${terminalText(HOSTILE_ID)} from meeting m-1 until`);
    expect(banned.stdout.trim().split('\n')).toHaveLength(1);

    // JSON logs (what a worker writes, tailed in a terminal): JSON lines with the same values.
    const logged = await runCli(['ban', '--participant', HOSTILE_ID, '--meeting', 'm-2', '--for', '1h'], {
      ...env,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    });
    expect(logged.code, logged.stderr).toBe(0);
    for (const raw of RAW) expect(logged.stderr, JSON.stringify(raw)).not.toContain(raw);
    const made = logged.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; participantId?: string })
      .find((line) => line.msg === 'ban made');
    expect(made?.participantId).toBe(HOSTILE_ID);
  });
});
