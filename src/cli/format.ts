import { readFile } from 'node:fs/promises';
import { UsageError } from '../shared/errors.js';
import { esc, terminalText } from '../shared/terminal-text.js';

/** Where a command writes text. */
export interface TextOut {
  write(text: string): unknown;
}

/**
 * The streams a command writes to. The CLI passes the process's, behind a guard that escapes the
 * control characters of everything written (`terminalOutput`); tests pass their own.
 */
export interface CommandIo {
  stdout: TextOut;
  stderr: TextOut;
  /**
   * The terminal a progress bar draws on, written raw (the bar moves the cursor): stderr when it is
   * a terminal, else undefined (no bar).
   */
  progress?: NodeJS.WritableStream | undefined;
  /** Read for `-` as a file name. */
  stdin?: AsyncIterable<Buffer | string>;
  /** Width of the terminal stdout writes to; undefined for a pipe or a file (tables then keep every column whole). */
  columns?: number | undefined;
}

/** Narrowest a column is squeezed to when a table must fit the terminal. */
const MIN_COLUMN = 8;

/**
 * Renders rows as an aligned text table for the terminal (no colours: logs and pipes stay clean).
 * Every cell is shown with its control characters escaped (`terminalText`): a value holding an
 * escape sequence or a newline stays one visible cell. Columns are cut at 60 characters, except
 * the last, which nothing follows. Given the terminal's `width`, the widest columns are narrowed
 * (to `MIN_COLUMN` at least) until a line fits, cut values ending in `…`.
 */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[], width?: number): string {
  const cells = rows.map((row) => row.map((cell) => (cell === undefined || cell === null ? '' : terminalText(String(cell)))));
  const last = headers.length - 1;
  const widths = headers.map((h, i) => Math.min(i === last ? Infinity : 60, Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length))));
  if (width !== undefined) fitWidths(widths, width - 2 * last);
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        const text = cell.length > w ? `${cell.slice(0, w - 1)}…` : cell;
        return text.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Narrows the widest columns, one character at a time, until they add up to `room` or cannot shrink. */
function fitWidths(widths: number[], room: number): void {
  let total = widths.reduce((a, b) => a + b, 0);
  while (total > room) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) if (widths[i]! > MIN_COLUMN && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) return;
    widths[widest]!--;
    total--;
  }
}

/** Prints JSON for `--json` (one document, pretty enough to read, exact enough to parse). */
export function printJson(value: unknown, out: TextOut): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Names, a value per line (`key  value`), aligned: `automod job ID`, `automod status`. Values are
 * shown escaped like table cells.
 */
export function pairs(lines: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...lines.map(([key]) => key.length));
  return lines
    .map(([key, value]) => `${key.padEnd(width)}  ${terminalText(value === undefined || value === null ? '' : String(value))}`)
    .join('\n');
}

/**
 * A command that ends in "not found" (or another failure with a code): the message on stderr and,
 * with `--json`, `{"error", "code"}` on stdout, so a script reading stdout gets a document. Answers
 * the exit code, 1.
 */
export function failed(io: CommandIo, json: boolean, message: string, code = 'ERR_NOT_FOUND'): number {
  io.stderr.write(`${terminalText(message)}\n`);
  if (json) printJson({ error: message, code }, io.stdout);
  return 1;
}

/** A job's status and message as one text, without saying the status twice. */
export function detailText(detail: { status?: number | undefined; message?: string | undefined }): string {
  const { status, message } = detail;
  if (message !== undefined && (status === undefined || message.includes(String(status)))) return message;
  return [status, message].filter((x) => x !== undefined).join(' ');
}

/** Counts per value, in first-seen order: `removed: 498, already-gone: 2`. */
export function countLine(values: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, n]) => `${value}: ${n}`).join(', ');
}

/** Reads a file, or the command's stdin for `-`. */
export async function readInput(file: string, io: CommandIo): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  if (!io.stdin) throw new UsageError('no standard input to read "-" from');
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Problems one per line, indented: `  path: message`. */
export function problemLines(problems: readonly { path: string; message: string }[]): string {
  return problems.map((p) => esc`  ${p.path}: ${p.message}`).join('\n');
}
