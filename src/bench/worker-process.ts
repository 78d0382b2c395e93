import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import type { Queue } from 'bullmq';
import type { Env } from '../shared/config.js';
import { wallClockMs } from './stats.js';
import { sleep } from '../shared/sleep.js';

/** Resident memory of a process, in MB: now, and the most it ever held (Linux `VmHWM`). */
export interface Rss {
  rssMb: number;
  peakMb: number;
}

/** A `node dist/cli.js start` child (`--no-http` unless asked to serve), as production runs the worker. */
export interface WorkerProcess {
  readonly pid: number;
  rss(): Rss | undefined;
  /** CPU time used so far (user + system), in seconds. */
  cpuSeconds(): number;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s); answers the exit code. */
  stop(): Promise<number | null>;
  /**
   * `work`, unless the worker exits first: then it rejects, naming the log, instead of waiting out
   * a timeout for work a dead process will never finish.
   */
  whileRunning<T>(work: Promise<T>): Promise<T>;
}

/**
 * Starts the worker and waits until its consumers are registered with Redis (`getWorkers()` on
 * every queue in `queues`). Its log lines go to `logFile`.
 */
export async function startWorkerProcess(options: {
  cliPath: string;
  env: Env;
  logFile: string;
  queues: readonly Queue[];
  nodeArgs?: readonly string[];
  timeoutMs?: number;
  /** Serve the HTTP API too, at `http://127.0.0.1:<port>` (`AUTOMOD_HTTP_PORT`); ready once `/healthz` answers. */
  httpPort?: number;
}): Promise<WorkerProcess> {
  const fd = openSync(options.logFile, 'a');
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.cliPath, 'start', ...(options.httpPort === undefined ? ['--no-http'] : [])],
    {
      env: {
        ...options.env,
        ...(options.httpPort === undefined ? {} : { AUTOMOD_HTTP_PORT: String(options.httpPort), AUTOMOD_HTTP_HOST: '127.0.0.1' }),
      },
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the worker process');

  const deadline = wallClockMs() + (options.timeoutMs ?? 20_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the worker exited during start-up (code ${exitCode}); see ${options.logFile}`);
    const registered = await Promise.all(options.queues.map(async (q) => (await q.getWorkers()).length > 0));
    if (registered.every(Boolean) && (options.httpPort === undefined || (await healthy(options.httpPort)))) break;
    if (wallClockMs() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the worker did not start within ${options.timeoutMs ?? 20_000} ms; see ${options.logFile}`);
    }
    await sleep(50);
  }

  return {
    pid,
    rss: () => readRss(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    whileRunning(work) {
      const died = exited.then((code) => {
        throw new Error(`the worker exited (code ${code}) during the run; see ${options.logFile}`);
      });
      return Promise.race([work, died]);
    },
    async stop() {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  } catch {
    return false;
  }
}

/** RSS from `/proc/PID/status` (Linux); undefined elsewhere or once the process is gone. */
export function readRss(pid: number): Rss | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process from `/proc/PID/stat` (Linux); NaN elsewhere. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
