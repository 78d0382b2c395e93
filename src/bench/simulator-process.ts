import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { freePort } from '../shared/free-port.js';
import { sleep } from '../shared/sleep.js';
import type { SimCall, SimFault, SimStats } from '../simulator/simulator.js';
import { wallClockMs } from './stats.js';
import { readCpuSeconds } from './worker-process.js';

/**
 * The VideoSDK simulator in a process of its own (`automod simulator`), driven through its control
 * API: the raid's simulator answers thousands of calls with a 5,000-participant session each, CPU
 * that would otherwise be taken from the bench's producer and show up as the worker's latency.
 */
export interface SimulatorProcess {
  readonly url: string;
  readonly pid: number;
  addSession(session: { id: string; meetingId?: string; participants: { participantId: string; name?: string }[] }): Promise<void>;
  addFault(fault: SimFault): Promise<void>;
  clearFaults(): Promise<void>;
  stats(): Promise<SimStats>;
  calls(): Promise<SimCall[]>;
  /** Forgets sessions, rooms, faults and calls. */
  reset(): Promise<void>;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Starts `node cli.js simulator` on a free port and waits until its control API answers. */
export async function startSimulatorProcess(options: {
  cliPath: string;
  secret: string;
  apiKey: string;
  logFile: string;
}): Promise<SimulatorProcess> {
  const port = await freePort();
  const fd = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    [options.cliPath, 'simulator', '--port', String(port), '--secret', options.secret, '--api-key', options.apiKey],
    { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH, HOME: process.env.HOME } },
  );
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the simulator process');
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${url}/_sim${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} /_sim${path} answered ${response.status}: ${text.slice(0, 200)}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  const deadline = wallClockMs() + 20_000;
  for (;;) {
    if (exited) throw new Error(`the simulator exited during start-up; see ${options.logFile}`);
    if (
      await call('GET', '/stats').then(
        () => true,
        () => false,
      )
    )
      break;
    if (wallClockMs() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the simulator did not start within 20 s; see ${options.logFile}`);
    }
    await sleep(50);
  }

  return {
    url,
    pid,
    async addSession(session) {
      await call('POST', '/sessions', session);
    },
    async addFault(fault) {
      // JSON has no Infinity: the control API takes the word.
      await call('POST', '/faults', { ...fault, ...(fault.times === Number.POSITIVE_INFINITY ? { times: 'Infinity' } : {}) });
    },
    async clearFaults() {
      await call('DELETE', '/faults');
    },
    stats: async () => (await call('GET', '/stats')) as SimStats,
    calls: async () => ((await call('GET', '/calls')) as { calls: SimCall[] }).calls,
    async reset() {
      await call('POST', '/reset');
    },
    cpuSeconds: () => readCpuSeconds(pid),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
