import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';
import { terminalLayout } from './terminal-text.js';

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

/** How the log is written: `auto` is resolved by the caller, who knows whether stderr is a terminal. */
export interface LoggerOptions {
  logLevel: Config['logLevel'];
  logFormat?: Config['logFormat'];
  /** Whether the destination is a terminal: decides `auto`, and colours in `pretty`. */
  tty?: boolean;
}

/**
 * The worker's logger: pino JSON, one line per decision; or, for a person at a terminal, pino-pretty
 * lines (`LOG_FORMAT=pretty`, or `auto` on a TTY). Redaction happens before either. `destination`
 * is a parameter so tests can read every line (and scan them for secrets).
 */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const format = options.logFormat === 'auto' || options.logFormat === undefined ? (options.tty ? 'pretty' : 'json') : options.logFormat;
  const stream =
    format === 'pretty'
      ? pretty({
          destination: readable(destination ?? pino.destination({ fd: 2, sync: true })),
          colorize: options.tty ?? false,
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
        })
      : escapedLines(destination ?? pino.destination({ fd: 2, sync: false }));
  return pino(
    {
      level: options.logLevel,
      base: { service: 'automod' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/**
 * A participant id is logged as it came. pino-pretty removes the C0 and C1 controls of values and
 * JSON escapes the C0 ones, but both write bidi overrides and isolates as they are: tailed in a
 * terminal, one could reverse the rest of a line. They are escaped here (`\u202e`, which JSON
 * reads as the same character), the formatter's own colours and line breaks kept.
 */
function readable(destination: DestinationStream): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      destination.write(terminalLayout(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      callback();
    },
  });
}

/** The same for JSON lines, keeping the destination's flush for `logger.flush()`. */
function escapedLines(destination: DestinationStream): DestinationStream {
  const target = destination as DestinationStream & { flush?: (callback?: (err?: Error) => void) => void };
  return {
    write: (line: string) => target.write(terminalLayout(line)),
    ...(typeof target.flush === 'function' ? { flush: (callback?: (err?: Error) => void) => target.flush!(callback) } : {}),
  };
}
