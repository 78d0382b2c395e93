import type { Command } from 'commander';
import type { Config } from '../../shared/config.js';
import { UsageError } from '../../shared/errors.js';
import {
  deploymentTags,
  evenSlotRanges,
  moveSlot,
  planSlots,
  readClusterMasters,
  type ClusterMaster,
  type ClusterPlan,
} from '../../store/cluster-plan.js';
import { createRedis } from '../../store/redis.js';
import type { CliContext } from '../context.js';
import { printJson, table, type CommandIo } from '../format.js';

export interface ClusterPlanOptions {
  /** Plan for a cluster not built yet: this many masters with `redis-cli --cluster create`'s ranges. */
  masters?: number;
  /**
   * How many partitions' worth of load the global tag carries. Default half the partitions:
   * measured, the global keys serve about a third of the commands once joins are recorded for
   * lockdowns and bans, budgets and claims share the tag (docs/operations.md: Spreading partitions).
   */
  globalWeight?: number;
  apply: boolean;
  json: boolean;
}

/**
 * `automod cluster-plan`: each hash tag of the deployment, its slot and master, and the slot moves
 * that give every master about the same share of partitions; `--apply` carries them out.
 */
export async function runClusterPlan(config: Config, options: ClusterPlanOptions, io: CommandIo): Promise<number> {
  const globalWeight = options.globalWeight ?? config.partitions / 2;
  if (!(globalWeight >= 0)) throw new UsageError(`--global-weight must be a number from 0, got ${options.globalWeight}`);
  const live = options.masters === undefined;
  if (live && config.redis.clusterNodes.length === 0) {
    throw new UsageError('cluster-plan needs REDIS_CLUSTER_NODES (a live cluster) or --masters N (a cluster about to be created)');
  }
  if (!live && options.apply) throw new UsageError('--apply works on a live cluster (REDIS_CLUSTER_NODES), not with --masters');
  let masters: ClusterMaster[];
  const redis = live ? createRedis(config.redis, { retriesPerRequest: 2 }) : undefined;
  try {
    if (redis) {
      masters = await readClusterMasters(redis);
    } else {
      const n = options.masters!;
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError(`--masters must be a whole number from 1 to 1000, got ${n}`);
      masters = evenSlotRanges(n).map((range, i) => ({ name: `master-${i + 1}`, ranges: [range] }));
    }
    const plan = planSlots(deploymentTags(config.prefix, config.partitions, globalWeight), masters);
    const moved: { slot: number; keys: number }[] = [];
    if (options.apply) for (const move of plan.moves) moved.push({ slot: move.slot, keys: await moveSlot(config.redis, masters, move) });
    if (options.json) {
      printJson(
        {
          prefix: config.prefix,
          partitions: config.partitions,
          masters: masters.map(({ name, ranges }) => ({ name, ranges })),
          ...plan,
          ...(options.apply ? { applied: moved } : {}),
        },
        io.stdout,
      );
      return 0;
    }
    io.stdout.write(describe(plan, masters, live, options.apply, moved));
    return 0;
  } finally {
    redis?.disconnect();
  }
}

function describe(
  plan: ClusterPlan,
  masters: readonly ClusterMaster[],
  live: boolean,
  applied: boolean,
  moved: readonly { slot: number; keys: number }[],
): string {
  const out: string[] = [];
  out.push(
    table(
      ['tag', 'slot', 'weight', 'master now', 'planned'],
      plan.tags.map((t) => [t.tag, t.slot, t.weight, t.from, t.to === t.from ? '' : t.to]),
    ),
  );
  out.push('');
  out.push(
    table(
      ['master', 'load now', 'planned'],
      plan.load.map((l) => [l.master, l.now, l.planned]),
    ),
  );
  out.push('');
  if (plan.moves.length === 0) {
    out.push('balanced: no slot to move');
  } else if (applied) {
    out.push(`moved ${moved.length} slot(s): ${moved.map((m) => `${m.slot} (${m.keys} keys)`).join(', ')}`);
  } else if (live) {
    out.push(
      `${plan.moves.length} slot(s) to move; run again with --apply, or by hand for each slot S from SRC to DST (node ids from CLUSTER MYID):`,
    );
    out.push('  on DST: CLUSTER SETSLOT S IMPORTING <SRC id>;  on SRC: CLUSTER SETSLOT S MIGRATING <DST id>');
    out.push('  on SRC: CLUSTER GETKEYSINSLOT S 100, then MIGRATE <DST host> <DST port> "" 0 10000 KEYS ... until none is left');
    out.push('  on DST, then SRC, then every other master: CLUSTER SETSLOT S NODE <DST id>');
    for (const m of plan.moves) out.push(`  slot ${m.slot}: ${m.from} -> ${m.to} (${m.tags.join(', ')})`);
  } else {
    // A cluster not created yet: give each master its ranges with the planned slots carved out.
    out.push('create the cluster with these slots instead of `redis-cli --cluster create` (then CLUSTER MEET the nodes):');
    for (const m of masters) {
      const gone = new Set(plan.moves.filter((x) => x.from === m.name).map((x) => x.slot));
      const gained = plan.moves.filter((x) => x.to === m.name).map((x) => x.slot);
      const ranges: [number, number][] = [];
      for (const [a, b] of m.ranges) {
        let start = a;
        for (let s = a; s <= b + 1; s++) {
          if (s > b || gone.has(s)) {
            if (s > start) ranges.push([start, s - 1]);
            start = s + 1;
          }
        }
      }
      for (const s of gained) ranges.push([s, s]);
      ranges.sort((x, y) => x[0] - y[0]);
      out.push(`  ${m.name}: CLUSTER ADDSLOTSRANGE ${ranges.map(([a, b]) => `${a} ${b}`).join(' ')}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** `automod cluster-plan`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('cluster-plan')
    .description(
      "Redis Cluster: each partition's hash slot and master, and the slot moves that spread the partitions evenly over the masters",
    )
    .option('--masters <n>', 'plan for a cluster about to be created with this many masters (no Redis needed)')
    .option('--global-weight <w>', "the global {PREFIX} tag's load, in partitions (default: half of AUTOMOD_PARTITIONS)")
    .option('--apply', 'move the slots on the live cluster (REDIS_CLUSTER_NODES)')
    .option('--json', 'print as JSON')
    .action(async (options: { masters?: string; globalWeight?: string; apply?: boolean; json?: boolean }) => {
      for (const [flag, raw] of [
        ['--masters', options.masters],
        ['--global-weight', options.globalWeight],
      ] as const) {
        if (raw !== undefined && !/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`${flag} must be a number, got "${raw}"`);
      }
      ctx.setExitCode(
        await runClusterPlan(
          ctx.config(),
          {
            ...(options.masters !== undefined ? { masters: Number(options.masters) } : {}),
            ...(options.globalWeight !== undefined ? { globalWeight: Number(options.globalWeight) } : {}),
            apply: options.apply ?? false,
            json: options.json ?? false,
          },
          ctx.io,
        ),
      );
    });
}
