import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/processes.js';
import { deletePrefix, REDIS_URL } from '../helpers/redis.js';

/**
 * Every fenced block marked `sh runnable` or `console runnable` in README.md and docs/*.md is run
 * here, in document order, against the built CLI (the `automod` that the README's own PATH line
 * finds, so that line cannot stop working unseen), an in-process worker
 * and the simulator, under a unique prefix, so a command shown in the docs cannot drift from the
 * product.
 *
 * - `sh runnable`: the block runs as one bash script and must exit 0.
 * - `console runnable`: each `$ ` line is a command (a trailing `\` continues it); the lines after
 *   it are the shape of its output: every one must match some output line, with numbers, UUIDs,
 *   12-hex versions and ISO times free, whitespace runs free and `...` standing for anything.
 *   A command must exit 0 unless the next one is `$ echo $?`, whose output line is the exit code.
 * - `<!-- runnable-setup ... -->` right before a block: shell run first, out of the reader's sight
 *   (files an example reads, simulator state it assumes).
 *
 * The worker listens on a free port and the simulator too: `localhost:8080` / `127.0.0.1:8080` in
 * a command are the worker, `127.0.0.1:9090` the simulator. A block that starts a worker and a
 * simulator of its own uses ports `8081` and `9091` (free ports here) and `AUTOMOD_PREFIX=trial`
 * (a prefix of its own here, deleted afterwards).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The README, then the pages in reading order, then any other page of docs/. */
const FIRST = ['README.md', 'docs/rules.md', 'docs/reference.md', 'docs/operations.md'];
const docsPages = (await readdir(join(root, 'docs')))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`)
  .sort();
const FILES = [...FIRST, ...docsPages.filter((f) => !FIRST.includes(f))];

interface Block {
  file: string;
  line: number;
  kind: 'sh' | 'console';
  body: string;
  setup?: string;
}

/** A line of an indented block (a list item's) without the block's indentation. */
function dedent(line: string, indent: number): string {
  return line.slice(Math.min(indent, line.length - line.trimStart().length));
}

export async function extractBlocks(file: string): Promise<Block[]> {
  const text = await readFile(join(root, file), 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let setup: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '<!-- runnable-setup') {
      const end = lines.findIndex((l, j) => j > i && l.trim() === '-->');
      if (end < 0) throw new Error(`${file}:${i + 1}: runnable-setup comment never closed`);
      const indent = line.length - line.trimStart().length;
      setup = lines
        .slice(i + 1, end)
        .map((l) => dedent(l, indent))
        .join('\n');
      i = end;
      continue;
    }
    const open = /^(\s*)```(\w+)(.*)$/.exec(line);
    if (open === null) {
      if (line.trim() !== '') setup = undefined;
      continue;
    }
    const indent = open[1]!.length;
    const close = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (close < 0) throw new Error(`${file}:${i + 1}: fenced block never closed`);
    const runnable = /\brunnable\b/.test(open[3]!);
    if (runnable) {
      const kind = open[2];
      if (kind !== 'sh' && kind !== 'console') throw new Error(`${file}:${i + 1}: only sh and console blocks can be runnable`);
      const body = lines
        .slice(i + 1, close)
        .map((l) => dedent(l, indent))
        .join('\n');
      blocks.push({ file, line: i + 1, kind, body, ...(setup !== undefined ? { setup } : {}) });
    }
    setup = undefined;
    i = close;
  }
  return blocks;
}

interface Step {
  command: string;
  expected: string[];
  exitCode: number;
}

/** `$ ` commands of a console block with the output shown after each. */
export function consoleSteps(body: string): Step[] {
  const steps: Step[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('$ ')) {
      if (steps.length === 0 && line.trim() !== '') throw new Error(`output before any command: ${line}`);
      if (steps.length > 0) steps.at(-1)!.expected.push(line);
      continue;
    }
    let command = line.slice(2);
    while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
    if (command.trim() === 'echo $?') {
      const previous = steps.at(-1);
      const code = Number(lines[i + 1]?.trim());
      if (previous === undefined || !Number.isInteger(code)) throw new Error('`$ echo $?` needs a command before it and a code after it');
      previous.exitCode = code;
      i++;
      continue;
    }
    steps.push({ command, expected: [], exitCode: 0 });
  }
  return steps;
}

const TOKEN =
  /(\.\.\.|…|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT[\d:.]+Z|\b[0-9a-f]{12}\b|\d+(?:[.,]\d+)*|\s+)/;

/** A pattern for one shown output line: what may differ from run to run is left free. */
export function shapeOf(line: string): RegExp {
  // A table's rule: its widths follow the data.
  if (/^-+(\s+-+)*$/.test(line.trim())) return /^-+(\s+-+)*$/;
  const source = line
    .trim()
    .split(TOKEN)
    .map((part, index) => {
      if (index % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      if (part === '...' || part === '…') return '.*';
      if (/^\s+$/.test(part)) return '\\s+';
      if (part.includes('T') && part.endsWith('Z')) return '\\S+';
      if (part.includes('-')) return '[0-9a-f-]{36}';
      if (/[a-f]/.test(part)) return '[0-9a-f]{12}';
      return '[\\d.,]+';
    })
    .join('');
  return new RegExp(`^${source}`);
}

function missingLines(expected: string[], output: string): string[] {
  const actual = output.split('\n').map((l) => l.trim());
  return expected
    .filter((line) => line.trim() !== '' && line.trim() !== '...')
    .filter((line) => !actual.some((a) => shapeOf(line).test(a)));
}

/** Commands that only read: re-run while the worker catches up with what came before. */
function readOnly(command: string): boolean {
  if (/\b(remove|replay|pause|resume|add|reload|-d|-X|XPOST|XDELETE)\b/.test(command) && !/--dry-run/.test(command)) return false;
  return /^(automod|curl|cat)\b/.test(command.trim());
}

/**
 * The README's `export PATH=...` line, as a reader copies it, run in the clone's folder: answers the
 * PATH it makes from `basePath`.
 */
export async function readmePath(basePath: string): Promise<{ line: string; path: string }> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const line = readme
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .find((l) => /^export PATH=/.test(l));
  if (line === undefined) throw new Error('README.md has no `export PATH=...` line that puts automod on the PATH');
  const path = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-c', `${line}\nprintf '%s' "$PATH"`], {
      cwd: root,
      env: { PATH: basePath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`\`${line}\` failed (${code})`))));
  });
  return { line, path };
}

let harness: Harness;
let cwd: string;
let env: Record<string, string>;
let substitute: (command: string) => string;
let trialPrefix: string | undefined;

function bash(script: string, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', substitute(script)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not finish in ${timeoutMs} ms: ${script}\n${output}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function runBlock(block: Block): Promise<void> {
  const where = `${block.file}:${block.line}`;
  if (block.setup !== undefined) {
    const setup = await bash(`set -e\n${block.setup}`);
    expect(setup.code, `${where} setup failed:\n${setup.output}`).toBe(0);
  }
  if (block.kind === 'sh') {
    // A block may start a worker of its own, which takes seconds on a loaded machine.
    const result = await bash(`set -e\n${block.body}`, 55_000);
    expect(result.code, `${where} failed:\n${result.output}`).toBe(0);
    return;
  }
  for (const step of consoleSteps(block.body)) {
    const deadline = Date.now() + (readOnly(step.command) ? 8_000 : 0);
    for (;;) {
      const result = await bash(step.command);
      const missing = missingLines(step.expected, result.output);
      if ((result.code === step.exitCode && missing.length === 0) || Date.now() >= deadline) {
        expect(result.code, `${where}: \`${step.command}\` exit code; output:\n${result.output}`).toBe(step.exitCode);
        expect(missing, `${where}: \`${step.command}\` output lacks these shown lines; output:\n${result.output}`).toEqual([]);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const blocks = (await Promise.all(FILES.map(extractBlocks))).flat();

describe('runnable blocks in the docs', () => {
  beforeAll(async () => {
    for (const tool of ['bash', 'curl', 'jq']) {
      const found = await new Promise<boolean>((resolve) =>
        spawn('sh', ['-c', `command -v ${tool}`]).on('close', (code) => resolve(code === 0)),
      );
      if (!found) throw new Error(`the runnable docs blocks need ${tool} on the PATH`);
    }
    const token = randomBytes(16).toString('hex');
    harness = await startHarness('docs', { AUTOMOD_API_TOKEN: token, AUTOMOD_API_RATE_PER_SEC: '100' });
    cwd = await mkdtemp(join(tmpdir(), 'automod-docs-'));
    await cp(join(root, 'rules'), join(cwd, 'rules'), { recursive: true });
    // No shim of our own: the commands find automod as a reader of the README does.
    const { path } = await readmePath(process.env.PATH ?? '');
    if (harness.automod.url === undefined) throw new Error('the worker serves no HTTP API');
    const worker = new URL(harness.automod.url).host;
    const simulator = new URL(harness.config.videosdk.apiBase).host;
    const [trialWorkerPort, trialSimulatorPort] = [await freePort(), await freePort()];
    trialPrefix = `${harness.config.prefix}-trial`;
    substitute = (command) =>
      command
        .replaceAll(/(localhost|127\.0\.0\.1):8080/g, worker)
        .replaceAll('127.0.0.1:9090', simulator)
        .replaceAll(/\b8081\b/g, String(trialWorkerPort))
        .replaceAll(/\b9091\b/g, String(trialSimulatorPort))
        .replaceAll(/\bAUTOMOD_PREFIX=trial\b/g, `AUTOMOD_PREFIX=${trialPrefix}`);
    env = {
      PATH: path,
      HOME: cwd,
      // No USER, as the examples were recorded: `requestedBy` reads operator:cli.
      REDIS_URL,
      AUTOMOD_PREFIX: harness.config.prefix,
      AUTOMOD_RULES: 'rules',
      AUTOMOD_API_TOKEN: token,
      VIDEOSDK_API_BASE: harness.config.videosdk.apiBase,
      VIDEOSDK_API_KEY: 'test-key',
      VIDEOSDK_SECRET: harness.secret,
      VIDEOSDK_TIMEOUT_MS: '1000',
      AUTOMOD_REMOVAL_ATTEMPTS: '4',
      AUTOMOD_BACKOFF_MS: '20',
      AUTOMOD_BACKOFF_MAX_MS: '200',
      AUTOMOD_API_RATE_PER_SEC: '100',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    if (trialPrefix !== undefined) {
      const redis = new Redis(REDIS_URL);
      await deletePrefix(redis, trialPrefix);
      await redis.quit();
    }
    await harness?.close();
    if (cwd !== undefined) await rm(cwd, { recursive: true, force: true });
  });

  it("the README's PATH line finds the clone's automod, which runs the built CLI", async () => {
    const { line } = await readmePath(process.env.PATH ?? '');
    const found = await bash('command -v automod && automod --version');
    expect(found.code, `after \`${line}\`, automod is not found:\n${found.output}`).toBe(0);
    const [where, version] = found.output.trim().split('\n');
    // The clone's own, not one that happens to be on the reader's PATH.
    expect(await realpath(where!)).toContain(await realpath(root));
    expect(version).toBe(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version);
  });

  it("npm exec --offline -- automod runs the clone's CLI too", async () => {
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('npm', ['exec', '--offline', '--', 'automod', '--version'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output.trim()).toBe(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version);
  }, 60_000);

  it('finds runnable blocks in the README and in docs/', () => {
    expect(blocks.length).toBeGreaterThan(10);
    expect(new Set(blocks.map((b) => b.file)).size).toBeGreaterThan(2);
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line}`, () => runBlock(block), 60_000);
  }
});

describe('the runnable-block reader', () => {
  it('reads commands, shown output and exit codes', () => {
    expect(consoleSteps('$ automod a \\\n   --b\nout 1\n$ automod c\n$ echo $?\n2')).toEqual([
      { command: 'automod a  --b', expected: ['out 1'], exitCode: 0 },
      { command: 'automod c', expected: [], exitCode: 2 },
    ]);
  });

  it('leaves numbers, ids and times free, not words', () => {
    expect(shapeOf('3 job(s): failed: 3').test('12 job(s): failed: 12')).toBe(true);
    expect(shapeOf('3 job(s): failed: 3').test('3 job(s): removed: 3')).toBe(false);
    expect(
      shapeOf('d24aa4e3-4d77-4d95-b14a-0c93cfacd47b  removed  2026-11-25T21:28:48.826Z').test(
        '0492a654-9c84-4b89-a5cb-1e334988daab removed 2027-01-01T00:00:00.000Z',
      ),
    ).toBe(true);
    expect(shapeOf('9 rules OK (version 371d9b5c331f)').test('10 rules OK (version e4c9c4f05831)')).toBe(true);
    expect(shapeOf('----  --').test('------  ---  -')).toBe(true);
    expect(shapeOf('{"accepted":1,"ids":["..."]}').test('{"accepted":1,"ids":["job-1-0"]}')).toBe(true);
  });
});
