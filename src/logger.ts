import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/** Paths that can carry a credential; pino replaces them before a line is written. */
export const REDACT_PATHS = [
  'authorization',
  'Authorization',
  'token',
  'secret',
  'apiToken',
  'password',
  '*.authorization',
  '*.Authorization',
  '*.token',
  '*.secret',
  '*.apiToken',
  '*.password',
  'headers.authorization',
  'req.headers.authorization',
  'config.videosdk.token',
  'config.videosdk.secret',
  'config.http.apiToken',
  // A Redis URL may carry a password.
  'config.redis.url',
  'redisUrl',
  '*.redisUrl',
  'headers.cookie',
  'req.headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  // An environment object logged by mistake.
  '*.VIDEOSDK_SECRET',
  '*.VIDEOSDK_TOKEN',
  '*.AUTOMOD_API_TOKEN',
  '*.AUTOMOD_WEBHOOK_TOKEN',
  '*.REDIS_URL',
];

/**
 * The worker's logger: pino JSON, one line per decision. `destination` is a parameter so tests
 * can read every line (and scan them for secrets).
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'automod' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
