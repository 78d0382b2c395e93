import type { Command } from 'commander';
import { createServices, type Services } from '../app/services.js';
import { parseConfig, type Config, type Env } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { terminalOutput } from '../shared/terminal-text.js';
import { probeRedis } from '../store/redis.js';
import type { CommandIo, TextOut } from './format.js';

/** What the process lends the command line: `main.ts` passes `process`'s parts. */
export interface CliHost {
  env: Env;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: AsyncIterable<Buffer | string>;
  setExitCode(code: number): void;
  /** Runs `handler` on the next `signal` only. */
  onceSignal(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void;
  exit(code: number): void;
}

/** What every command module's `register(program, ctx)` receives. */
export interface CliContext {
  env: Env;
  /** The process's streams, every write escaped for the terminal (`terminalOutput`). */
  io: CommandIo;
  /** Who is at the keyboard (`operator:USER`), recorded with removals, replays, bans and pauses. */
  operator: string;
  /** The configuration from the environment; a `ConfigError` lists every problem. */
  config(): Config;
  /** The rules folder a `rules` command reads: its argument, else AUTOMOD_RULES, else ./rules. */
  rulesDir(path: string | undefined): string;
  /** The logger of a worker process (`start`): LOG_LEVEL and LOG_FORMAT as configured, on stderr. */
  workerLogger(config: Config): Logger;
  /**
   * Runs `fn` with connections and stores, closed after. Redis is probed first, so a command fails
   * within AUTOMOD_REDIS_CONNECT_TIMEOUT_MS with one line naming the address (exit 3).
   */
  withServices<T>(fn: (services: Services) => Promise<T>): Promise<T>;
  setExitCode(code: number): void;
  /** Aborted on Ctrl-C, so a waiting command prints what it has and exits; a second Ctrl-C kills (130). */
  interrupted(): AbortSignal;
  /**
   * For a command that runs until stopped (`start`, `simulator`): on SIGTERM or SIGINT, `stop` runs
   * once and the process exits with the code it answers.
   */
  untilStopped(stop: (signal: 'SIGTERM' | 'SIGINT') => Promise<number>): void;
}

/** The module shape of every command: `register(program, ctx)` adds its commands to `program`. */
export type RegisterCommands = (program: Command, ctx: CliContext) => void;

/** A stream whose every write is escaped for the terminal. */
function guarded(stream: NodeJS.WritableStream): TextOut {
  return { write: (text: string) => stream.write(terminalOutput(text)) };
}

export function createCliContext(host: CliHost): CliContext {
  const config = () => parseConfig(host.env);
  /** Logs of one-shot commands go to stderr and stay quiet unless LOG_LEVEL asks. */
  const commandLogger = (cfg: Config) =>
    createLogger({ logLevel: host.env.LOG_LEVEL ? cfg.logLevel : 'warn', logFormat: cfg.logFormat, tty: host.stderr.isTTY ?? false });
  return {
    env: host.env,
    io: {
      stdout: guarded(host.stdout),
      stderr: guarded(host.stderr),
      progress: host.stderr.isTTY ? host.stderr : undefined,
      stdin: host.stdin,
      columns: host.stdout.isTTY ? host.stdout.columns : undefined,
    },
    operator: `operator:${host.env.USER ?? host.env.USERNAME ?? 'cli'}`,
    config,
    rulesDir: (path) => path ?? host.env.AUTOMOD_RULES ?? './rules',
    workerLogger: (cfg) => createLogger({ logLevel: cfg.logLevel, logFormat: cfg.logFormat, tty: host.stderr.isTTY ?? false }),
    async withServices(fn) {
      const cfg = config();
      // Instead of waiting on ioredis' retries and printing its error events.
      await probeRedis(cfg.redis, cfg.redis.connectTimeoutMs);
      const services = createServices(cfg, commandLogger(cfg), {});
      try {
        return await fn(services);
      } finally {
        await services.close();
      }
    },
    setExitCode: host.setExitCode,
    interrupted() {
      const controller = new AbortController();
      host.onceSignal('SIGINT', () => {
        controller.abort();
        host.onceSignal('SIGINT', () => host.exit(130));
      });
      return controller.signal;
    },
    untilStopped(stop) {
      for (const signal of ['SIGTERM', 'SIGINT'] as const)
        host.onceSignal(
          signal,
          () =>
            void stop(signal).then(
              (code) => host.exit(code),
              () => host.exit(1),
            ),
        );
    },
  };
}
