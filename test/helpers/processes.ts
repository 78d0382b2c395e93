import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../../src/shared/free-port.js';
import { sleep } from '../../src/shared/sleep.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root (tests run from it, but spawned processes get it explicitly). */
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');

/**
 * Fails with a clear message when the build is missing (`npm ci` builds it through `prepare`), and
 * says so when `src/` changed after it: the spawned workers run `dist/`, not the sources.
 */
let staleChecked = false;
export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm ci does it through "prepare") before these tests`);
  if (staleChecked) return;
  staleChecked = true;
  const built = statSync(CLI).mtimeMs;
  const newer = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && statSync(join(ROOT, 'src', file)).mtimeMs > built,
  );
  if (newer.length > 0) {
    process.stderr.write(
      `warning: dist/ is older than ${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ', ...' : ''}; run \`npm run build\` to test the current sources\n`,
    );
  }
}

/** Fails clearly when a Redis binary is not installed: these tests must not be skipped. */
export function requireBinary(name: 'redis-server' | 'redis-cli'): void {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${name} is not installed (CI installs it: apt-get install redis-server redis-tools); this test cannot run without it`);
  }
}

export { freePort, sleep };

/** Resolves with the exit code and signal of a child, whenever it ends (also when it already has). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

async function ping(port: number): Promise<boolean> {
  const result = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 2000 });
  // A server with requirepass answers NOAUTH: it is up all the same.
  return result.stdout?.trim() === 'PONG' || (result.stdout ?? '').includes('NOAUTH');
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A private redis-server the test owns, so it can stop and restart it. */
export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Graceful stop (SIGTERM: Redis writes its append-only file and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory: with `appendonly yes` the data comes back. */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

/** Starts `redis-server` on a free port in a fresh directory. Extra arguments are appended. */
export async function startRedisServer(
  options: { appendonly?: boolean; args?: string[]; port?: number; dir?: string } = {},
): Promise<RedisServer> {
  requireBinary('redis-server');
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'automod-redis-')));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly === false ? 'no' : 'yes',
    '--maxmemory-policy',
    'noeviction',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      const failed = new Promise<never>((_, reject) => child!.once('error', reject));
      await Promise.race([waitForPing(port), failed]);
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      child.kill('SIGTERM');
      await done;
      child = undefined;
    },
    async destroy() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** A spawned `automod` process with its log lines (pino JSON on stderr) kept in memory. */
export interface AutomodProcess {
  name: string;
  child: ChildProcess;
  /** Parsed JSON log lines, in order; other output lines as `{msg: line}`. */
  logs: Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a log line satisfies `test`. */
  waitForLog(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Spawns `node dist/cli.js ARGS` with exactly `env` (plus PATH and HOME). */
export function spawnAutomod(name: string, args: string[], env: Record<string, string>): AutomodProcess {
  requireBuild();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<{ test: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }>();
  const onData = (stream: NodeJS.ReadableStream) => {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (text.trim() === '') continue;
        let line: Record<string, unknown>;
        try {
          const parsed = JSON.parse(text) as unknown;
          line = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { msg: text };
        } catch {
          line = { msg: text };
        }
        logs.push(line);
        for (const waiter of waiters) {
          if (waiter.test(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    });
  };
  onData(child.stdout!);
  onData(child.stderr!);
  const exit = exited(child);
  return {
    name,
    child,
    logs,
    exit,
    waitForLog(test, timeoutMs = 20_000) {
      const found = logs.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolveLine, reject) => {
        const waiter = { test, resolve: resolveLine };
        waiters.add(waiter);
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const tail = logs
            .slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n');
          reject(new Error(`${name}: no matching log line within ${timeoutMs} ms; last lines:\n${tail}`));
        }, timeoutMs);
        void exit.then(({ code, signal }) => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          const tail = logs
            .slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n');
          reject(new Error(`${name} exited (code ${code}, signal ${signal}) before the expected log line; last lines:\n${tail}`));
        });
        const original = waiter.resolve;
        waiter.resolve = (line) => {
          clearTimeout(timer);
          original(line);
        };
      });
    },
  };
}
