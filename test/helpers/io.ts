import { Readable, Writable } from 'node:stream';
import type { CommandIo } from '../../src/cli/format.js';

/** Streams for a command under test: what it writes is kept as text. */
export function captureIo(options: { stdin?: string; tty?: boolean } = {}): CommandIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const stdout = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      out += chunk.toString();
      callback();
    },
  });
  const stderr = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        err += chunk.toString();
        callback();
      },
    }),
    { isTTY: options.tty ?? false },
  );
  return {
    stdout,
    stderr,
    // A terminal: the progress bar draws on stderr.
    ...(options.tty ? { progress: stderr } : {}),
    ...(options.stdin !== undefined ? { stdin: Readable.from([Buffer.from(options.stdin)]) } : {}),
    out: () => out,
    err: () => err,
  };
}
