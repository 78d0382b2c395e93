import { setFlagsFromString } from 'node:v8';
import { Option, type Command } from 'commander';
import { startAutomod } from '../../app/automod.js';
import { RulesError } from '../../shared/errors.js';
import { parsePartitionList } from '../../shared/partitions.js';
import type { CliContext } from '../context.js';
import { problemLines } from '../format.js';
import { EXIT_BAD_RULES } from './rules.js';

/** `automod start`: the workers and the HTTP API until SIGTERM or SIGINT. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description('run the workers and the HTTP API until SIGTERM or SIGINT')
    .addOption(new Option('--only <kind>', 'run only one kind of worker').choices(['events', 'removals']))
    .option('--no-http', 'do not serve the HTTP API')
    .option('--partitions <list>', 'consume only these event partitions (3, 0-5 or 0,2,4-6); all by default')
    .option('--repartition', "record a new AUTOMOD_PARTITIONS (only once the old partitions' events queues are drained)")
    .action(async (options: { only?: 'events' | 'removals'; http: boolean; partitions?: string; repartition?: boolean }) => {
      const cfg = ctx.config();
      const partitions = options.partitions === undefined ? undefined : parsePartitionList(options.partitions, cfg.partitions);
      const logger = ctx.workerLogger(cfg);
      // A worker's live heap is small (about 25 MB) but churns fast; V8 would let it grow to several
      // times that before a full collection. Growing by at most half keeps RSS flat under load (about
      // 140 MB at saturation instead of 200+) for no measurable throughput. NODE_OPTIONS still wins.
      if (!/--(heap-growing-percent|max-old-space-size)/.test(ctx.env.NODE_OPTIONS ?? '')) setFlagsFromString('--heap-growing-percent=50');
      let running;
      try {
        running = await startAutomod(cfg, logger, { only: options.only, http: options.http, partitions, repartition: options.repartition });
      } catch (err) {
        if (err instanceof RulesError) {
          ctx.io.stderr.write(`refusing to start: the rules in ${cfg.rulesDir} are invalid\n${problemLines(err.problems)}\n`);
          ctx.setExitCode(EXIT_BAD_RULES);
          logger.flush();
          return;
        }
        throw err;
      }
      const automod = running;
      ctx.untilStopped(async (signal) => {
        logger.info({ signal }, 'shutting down');
        try {
          await automod.close();
          logger.flush();
          return 0;
        } catch (err) {
          logger.error({ err }, 'shutdown failed');
          logger.flush();
          return 1;
        }
      });
    });
}
