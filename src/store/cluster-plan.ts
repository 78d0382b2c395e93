import calculateSlot from 'cluster-key-slot';
import { type Redis } from 'ioredis';
import type { Config } from '../shared/config.js';
import { partitionPrefix } from '../shared/partitions.js';
import { createRedis, type RedisClient } from './redis.js';

/** Redis Cluster's hash slots. */
export const CLUSTER_SLOTS = 16384;

/**
 * The hash slot Redis Cluster gives `key`: CRC16 of its hash tag (the text between the first `{`
 * and the next `}`, when not empty) or of the whole key, mod 16384, as CLUSTER KEYSLOT answers.
 * Computed by cluster-key-slot, the code ioredis routes cluster commands with. One kind of key it
 * reads unlike Redis: an empty `{}` followed by another `}` later (it keeps looking for a tag where
 * Redis hashes the whole key). The deployment's tags cannot hold a brace (`PREFIX_PATTERN`).
 */
export function keySlot(key: string): number {
  return calculateSlot(key);
}

/** A master and the slot ranges it serves (inclusive). */
export interface ClusterMaster {
  /** `host:port` */
  name: string;
  /** The node id (live clusters only). */
  id?: string;
  host?: string;
  port?: number;
  ranges: [number, number][];
}

/**
 * The slot ranges `redis-cli --cluster create` gives `masters` masters (its own arithmetic: equal
 * shares, rounded, the last master up to 16383).
 */
export function evenSlotRanges(masters: number): [number, number][] {
  const per = CLUSTER_SLOTS / masters;
  const ranges: [number, number][] = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < masters; i++) {
    let last = Math.round(cursor + per - 1);
    if (last > CLUSTER_SLOTS - 1 || i === masters - 1) last = CLUSTER_SLOTS - 1;
    if (last < first) last = first;
    ranges.push([first, last]);
    first = last + 1;
    cursor += per;
  }
  return ranges;
}

/** A hash tag of the deployment, its slot and how much of the load it carries (a partition = 1). */
export interface PlannedTag {
  tag: string;
  slot: number;
  weight: number;
}

/**
 * The deployment's hash tags: `{BASE}` (removals, claims, audit, the rest of the global keys) with
 * `globalWeight`, and one `{BASE:pK}` per partition with weight 1 (sessions spread evenly).
 */
export function deploymentTags(prefix: string, partitions: number, globalWeight: number): PlannedTag[] {
  const tags = [{ tag: `{${prefix}}`, weight: globalWeight }];
  if (partitions > 1) for (let k = 0; k < partitions; k++) tags.push({ tag: partitionPrefix(prefix, k, partitions), weight: 1 });
  return tags.map((t) => ({ ...t, slot: keySlot(t.tag) }));
}

export interface ClusterPlan {
  /** Each tag, the master serving its slot now and the one the plan puts it on. */
  tags: (PlannedTag & { from: string; to: string })[];
  /** Slots to move (each carries every tag in it). */
  moves: { slot: number; from: string; to: string; tags: string[] }[];
  /** Load (sum of weights) per master, now and after the moves. */
  load: { master: string; now: number; planned: number }[];
}

/**
 * Which slots to move so that each master carries about the same weight of tags, moving as few as
 * it can: while the heaviest and the lightest master differ, the slot on the heaviest whose weight
 * comes closest to half the difference (and below the whole of it) goes to the lightest.
 */
export function planSlots(tags: readonly PlannedTag[], masters: readonly ClusterMaster[]): ClusterPlan {
  if (masters.length === 0) throw new Error('the cluster has no master serving slots');
  const ownerOf = (slot: number) => {
    const master = masters.find((m) => m.ranges.some(([a, b]) => slot >= a && slot <= b));
    if (!master) throw new Error(`slot ${slot} is served by no master: the cluster is not fully covered (CLUSTER INFO: cluster_state)`);
    return master.name;
  };
  const slots = new Map<number, { weight: number; tags: string[]; from: string; at: string }>();
  for (const t of tags) {
    const entry = slots.get(t.slot) ?? { weight: 0, tags: [], from: ownerOf(t.slot), at: ownerOf(t.slot) };
    entry.weight += t.weight;
    entry.tags.push(t.tag);
    slots.set(t.slot, entry);
  }
  const loadOf = (master: string) => [...slots.values()].filter((s) => s.at === master).reduce((sum, s) => sum + s.weight, 0);
  const before = new Map(masters.map((m) => [m.name, loadOf(m.name)]));
  for (let round = 0; round < tags.length * masters.length; round++) {
    const loads = masters
      .map((m) => ({ name: m.name, load: loadOf(m.name) }))
      .sort((a, b) => b.load - a.load || a.name.localeCompare(b.name));
    const heavy = loads[0]!;
    const light = loads[loads.length - 1]!;
    const gap = heavy.load - light.load;
    const candidates = [...slots.entries()].filter(([, s]) => s.at === heavy.name && s.weight < gap);
    if (candidates.length === 0) break;
    candidates.sort(([sa, a], [sb, b]) => Math.abs(a.weight - gap / 2) - Math.abs(b.weight - gap / 2) || sa - sb);
    candidates[0]![1].at = light.name;
  }
  return {
    tags: tags.map((t) => ({ ...t, from: slots.get(t.slot)!.from, to: slots.get(t.slot)!.at })),
    moves: [...slots.entries()]
      .filter(([, s]) => s.at !== s.from)
      .sort(([a], [b]) => a - b)
      .map(([slot, s]) => ({ slot, from: s.from, to: s.at, tags: s.tags })),
    load: masters.map((m) => ({ master: m.name, now: before.get(m.name)!, planned: loadOf(m.name) })),
  };
}

/** The masters of a live cluster and their slots, from CLUSTER SLOTS. */
export async function readClusterMasters(redis: RedisClient): Promise<ClusterMaster[]> {
  const reply = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string, ...unknown[]], ...unknown[]][];
  const masters = new Map<string, ClusterMaster>();
  for (const [first, last, [host, port, id]] of reply) {
    const name = `${host}:${port}`;
    const master = masters.get(name) ?? { name, id, host, port, ranges: [] };
    master.ranges.push([first, last]);
    masters.set(name, master);
  }
  return [...masters.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Moves one slot between masters the way `redis-cli --cluster reshard` does, for one named slot:
 * IMPORTING on the target, MIGRATING on the source, MIGRATE of its keys, then SETSLOT NODE on every
 * master. Safe while clients run (they follow ASK and MOVED), quickest before the first start.
 */
export async function moveSlot(
  config: Config['redis'],
  masters: readonly ClusterMaster[],
  move: { slot: number; from: string; to: string },
): Promise<number> {
  const connect = (m: ClusterMaster): Redis => {
    const url = new URL(config.url);
    url.hostname = m.host!;
    url.port = String(m.port!);
    return createRedis({ ...config, url: url.toString(), clusterNodes: [] }, { retriesPerRequest: 1 }) as Redis;
  };
  const source = masters.find((m) => m.name === move.from);
  const target = masters.find((m) => m.name === move.to);
  if (!source?.id || !target?.id) throw new Error(`slot ${move.slot}: unknown master ${source ? move.to : move.from}`);
  const clients = new Map(masters.map((m) => [m.name, connect(m)]));
  try {
    const src = clients.get(source.name)!;
    const dst = clients.get(target.name)!;
    await dst.call('CLUSTER', 'SETSLOT', move.slot, 'IMPORTING', source.id);
    await src.call('CLUSTER', 'SETSLOT', move.slot, 'MIGRATING', target.id);
    const url = new URL(config.url);
    const auth = url.password ? ['AUTH2', decodeURIComponent(url.username || 'default'), decodeURIComponent(url.password)] : [];
    let moved = 0;
    for (;;) {
      const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', move.slot, 100)) as string[];
      if (keys.length === 0) break;
      await src.call('MIGRATE', target.host!, target.port!, '', 0, 10_000, 'REPLACE', ...auth, 'KEYS', ...keys);
      moved += keys.length;
    }
    // The target first: it bumps its config epoch, so its claim wins when the others gossip.
    await dst.call('CLUSTER', 'SETSLOT', move.slot, 'NODE', target.id);
    await src.call('CLUSTER', 'SETSLOT', move.slot, 'NODE', target.id);
    for (const [name, client] of clients)
      if (name !== source.name && name !== target.name) await client.call('CLUSTER', 'SETSLOT', move.slot, 'NODE', target.id);
    return moved;
  } finally {
    for (const client of clients.values()) client.disconnect();
  }
}
