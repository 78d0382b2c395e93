import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../src/shared/logger.js';

/** Logs one line with a secret in it through a logger of these options; returns what was written. */
async function logOnce(options: Omit<LoggerOptions, 'logLevel'>): Promise<string> {
  let written = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  const logger = createLogger({ logLevel: 'info', ...options }, sink);
  logger.info({ rule: 'chat-flood', token: 'very-secret-token' }, 'rule matched');
  logger.flush();
  await new Promise((r) => setImmediate(r));
  return written;
}

describe('createLogger', () => {
  it('writes JSON lines by default and when stderr is no terminal', async () => {
    for (const options of [{}, { logFormat: 'auto' as const, tty: false }, { logFormat: 'json' as const, tty: true }]) {
      const line = await logOnce(options);
      expect(JSON.parse(line)).toMatchObject({ msg: 'rule matched', rule: 'chat-flood', token: '[redacted]' });
    }
  });

  it('writes readable lines for a terminal (auto) or when asked (pretty), still redacted', async () => {
    for (const options of [{ logFormat: 'auto' as const, tty: true }, { logFormat: 'pretty' as const }]) {
      const text = await logOnce(options);
      expect(() => JSON.parse(text)).toThrow();
      expect(text).toContain('INFO');
      expect(text).toContain('rule matched');
      expect(text).toContain('chat-flood');
      expect(text).not.toContain('very-secret-token');
    }
  });
});
