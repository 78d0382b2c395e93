import { randomBytes } from 'node:crypto';
import { startAutomod, type RunningAutomod, type StartOptions } from '../../src/app/automod.js';
import type { Config, Env } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { deletePrefix, testConfig, uniquePrefix } from './redis.js';

export interface Harness {
  config: Config;
  simulator: Simulator;
  automod: RunningAutomod;
  secret: string;
  /** POST/GET against the worker's HTTP API. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/** A worker in-process against the real Redis and a simulator on a free port, with a unique prefix. */
export async function startHarness(name: string, env: Env = {}, options: StartOptions = {}): Promise<Harness> {
  const secret = randomBytes(12).toString('hex');
  const simulator = createSimulator({ secret, apiKey: 'test-key' });
  const simulatorUrl = await simulator.listen(0);
  const prefix = uniquePrefix(name);
  const config = testConfig(prefix, {
    VIDEOSDK_API_BASE: simulatorUrl,
    VIDEOSDK_API_KEY: 'test-key',
    VIDEOSDK_SECRET: secret,
    VIDEOSDK_TIMEOUT_MS: '1000',
    AUTOMOD_HTTP_PORT: '0',
    AUTOMOD_RULES: 'rules',
    AUTOMOD_REMOVAL_ATTEMPTS: '4',
    ...env,
  });
  const automod = await startAutomod(config, createLogger(config), { watchRules: false, ...options });
  const api: Harness['api'] = async (method, path, body, headers = {}) => {
    const response = await fetch(`${automod.url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Prometheus text and HTML stay as text.
    }
    return { status: response.status, body: parsed };
  };
  return {
    config,
    simulator,
    automod,
    secret,
    api,
    async close() {
      await automod.close();
      await simulator.close();
      const { createRedis } = await import('../../src/store/redis.js');
      const redis = createRedis(config.redis);
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function sessionId(): string {
  return randomBytes(12).toString('hex');
}
