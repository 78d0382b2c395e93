import { spawnSync } from 'node:child_process';
import { freePort, requireBinary, sleep, startRedisServer, type RedisServer } from './processes.js';

/** A local Redis Cluster of masters only, each a redis-server the test owns. */
export interface LocalCluster {
  nodes: RedisServer[];
  /** `host:port,...`, for REDIS_CLUSTER_NODES. */
  seeds: string;
  /** Runs redis-cli against one node and answers its stdout. */
  cli(node: RedisServer, ...args: string[]): string;
  destroy(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-servers and joins them with `redis-cli --cluster create`
 * (its even slot split). Needs redis-server and redis-cli: without them it fails, it never skips.
 */
export async function startCluster(masters: number): Promise<LocalCluster> {
  requireBinary('redis-server');
  requireBinary('redis-cli');
  const nodes: RedisServer[] = [];
  const cli = (node: RedisServer, ...args: string[]) =>
    spawnSync('redis-cli', ['-p', String(node.port), ...args], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      nodes.push(
        await startRedisServer({
          port,
          appendonly: false,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
    // Every node must agree the cluster is up before clients connect.
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const info = cli(node, 'cluster', 'info');
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} never reached cluster_state:ok:\n${info}`);
        await sleep(100);
      }
    }
    return {
      nodes,
      seeds: addresses.join(','),
      cli,
      async destroy() {
        await Promise.all(nodes.map((n) => n.destroy()));
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.destroy()));
    throw err;
  }
}
