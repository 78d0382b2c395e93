import { createHash, randomBytes } from 'node:crypto';
import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { jsonErrorPosition } from '../moderation/json-error-position.js';
import { ConfigError, problemPath, type Problem } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { ROLES, type Role } from './roles.js';

/**
 * `AUTOMOD_TOKENS_FILE`: `[{"name", "role", "sha256"}]`, where `sha256` is the hex SHA-256 of the
 * token. The file holds no secret: a copy of it opens nothing.
 */
export interface TokenEntry {
  name: string;
  role: Role;
  sha256: string;
}

/** A token as the HTTP API compares it: its name, role and digest. */
export interface NamedToken {
  name: string;
  role: Role;
  digest: Buffer;
}

/** The name `AUTOMOD_API_TOKEN` is recorded under (`token:api`): no entry of the file may take it. */
export const API_TOKEN_NAME = 'api';

/** A token's name as audit records carry it (`token:<name>`): plain, so it reads the same everywhere. */
export const TOKEN_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** What a token made by `automod tokens add` starts with: never 64 hex digits, so never taken for a hash. */
const TOKEN_PREFIX = 'amt_';

/** A new token: 32 random bytes, base64url, after `amt_`. */
export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The hex SHA-256 of a token, as the file holds it. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const FIELDS = ['name', 'role', 'sha256'];

// No message here repeats a value of the file: a token put there by mistake must not reach a log.
const entrySchema = z.strictObject(
  {
    name: z
      .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
      .regex(TOKEN_NAME_PATTERN, 'must be 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit')
      .refine((name) => name !== API_TOKEN_NAME, `"${API_TOKEN_NAME}" is the name of AUTOMOD_API_TOKEN`),
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    sha256: z
      .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
      .regex(/^[0-9a-f]{64}$/i, 'must be the hex SHA-256 of the token (64 characters 0-9 a-f), never the token itself')
      .transform((hex) => hex.toLowerCase()),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `holds ${issue.keys.includes('token') ? 'a "token" field' : 'fields'} other than ${FIELDS.join(', ')}: a tokens file holds no token, only its sha256 (automod tokens add writes it)`
        : issue.code === 'invalid_type'
          ? 'must be an object {"name", "role", "sha256"}'
          : undefined,
  },
);
const fileSchema = z.array(entrySchema, { error: 'must be a JSON array of {"name", "role", "sha256"}' });

/** Tokens the file must not repeat (AUTOMOD_API_TOKEN, AUTOMOD_WEBHOOK_TOKEN), by digest. */
export interface ReservedToken {
  sha256: string;
  /** The variable that holds it. */
  variable: string;
}

/**
 * The entries of a tokens file's text, or every problem found (each at its JSON path): not JSON, an
 * entry that is not `{name, role, sha256}`, a name or a token given twice, a token that is already
 * `AUTOMOD_API_TOKEN` or `AUTOMOD_WEBHOOK_TOKEN`.
 */
export function parseTokensFile(
  text: string,
  reserved: readonly ReservedToken[] = [],
): { entries: TokenEntry[] } | { problems: Problem[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text: only the position is said.
    const { line, column } = jsonErrorPosition(text, err instanceof Error ? err.message : '');
    return { problems: [{ path: '$', message: `is not JSON (line ${line}, column ${column})` }] };
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => ({ path: problemPath(i.path), message: i.message })) };
  const problems: Problem[] = [];
  const names = new Map<string, number>();
  const digests = new Map<string, number>();
  parsed.data.forEach((entry, i) => {
    const sameName = names.get(entry.name);
    if (sameName !== undefined) problems.push({ path: `$[${i}].name`, message: `"${entry.name}" is also the name of $[${sameName}]` });
    const sameToken = digests.get(entry.sha256);
    if (sameToken !== undefined)
      problems.push({ path: `$[${i}].sha256`, message: `is the token of $[${sameToken}] too: one token, one name` });
    const taken = reserved.find((r) => r.sha256 === entry.sha256);
    if (taken) problems.push({ path: `$[${i}].sha256`, message: `is the token of ${taken.variable}: give this one a token of its own` });
    names.set(entry.name, names.get(entry.name) ?? i);
    digests.set(entry.sha256, digests.get(entry.sha256) ?? i);
  });
  return problems.length > 0 ? { problems } : { entries: parsed.data };
}

/** The file's text for `entries`: one entry a line, so a diff shows who was added or revoked. */
export function tokensFileText(entries: readonly TokenEntry[]): string {
  if (entries.length === 0) return '[]\n';
  return `[\n${entries.map((e) => `  ${JSON.stringify({ name: e.name, role: e.role, sha256: e.sha256 })}`).join(',\n')}\n]\n`;
}

/** Reads and parses a tokens file; a missing or unreadable file is a problem like a bad entry. */
export async function readTokensFile(
  path: string,
  reserved: readonly ReservedToken[] = [],
): Promise<{ entries: TokenEntry[] } | { problems: Problem[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problems: [{ path: '$', message: code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})` }] };
  }
  return parseTokensFile(text, reserved);
}

/**
 * Writes the file whole, never half: a temporary file beside it, then a rename over it, so a worker
 * re-reading it sees the old entries or the new ones. An existing file keeps its mode.
 */
export async function writeTokensFile(path: string, entries: readonly TokenEntry[]): Promise<void> {
  const mode = await stat(path).then(
    (s) => s.mode & 0o777,
    () => 0o644,
  );
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, tokensFileText(entries), { mode, flag: 'wx' });
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
}

/** The named tokens of `AUTOMOD_TOKENS_FILE`, kept in step with the file while the worker runs. */
export interface TokensFile {
  readonly path: string;
  /** Reads the file; a `ConfigError` names every problem (`automod start` exits 2). */
  load(): Promise<void>;
  /** The tokens in force: the last good file's. */
  current(): readonly NamedToken[];
  /** Looks at the file now; a change is taken when the file is good, else reported and the last good one kept. */
  check(): Promise<void>;
  /** Looks at it every `intervalMs` from now on. */
  watch(): void;
  close(): void;
}

export interface TokensFileOptions {
  path: string;
  /** AUTOMOD_API_TOKEN and AUTOMOD_WEBHOOK_TOKEN, which the file must not repeat. */
  reserved?: readonly ReservedToken[];
  logger: Logger;
  metrics?: Pick<Metrics, 'tokensReloads'> | undefined;
  /**
   * How often the file is looked at (default 1000 ms): one `stat`, and a read only when it changed.
   * A poll, not only `fs.watch`, because editors and Kubernetes ConfigMaps replace the file (a
   * rename, a symbolic link swapped) in ways a watch on it misses.
   */
  intervalMs?: number;
}

/** Reads `AUTOMOD_TOKENS_FILE` and re-reads it when it changes, so a revoked token stops within seconds. */
export function createTokensFile(options: TokensFileOptions): TokensFile {
  const { path, logger, metrics } = options;
  const reserved = options.reserved ?? [];
  let tokens: readonly NamedToken[] = [];
  // What the file looked like when last read (device, inode, size, times to the nanosecond): a
  // change of any means another read. `missing` when it could not be looked at.
  let seen: string | undefined;
  let checking: Promise<void> | undefined;
  // Whether the file as last read was refused: its repair is then said even when it restores the tokens in force.
  let refused = false;
  let timer: NodeJS.Timeout | undefined;

  const stamp = async (): Promise<string> => {
    try {
      const s = await stat(path, { bigint: true });
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      return `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  };
  const take = (entries: readonly TokenEntry[]) => {
    tokens = Object.freeze(entries.map((e) => Object.freeze({ name: e.name, role: e.role, digest: Buffer.from(e.sha256, 'hex') })));
  };

  // One look at a time: a tick that comes while the file is being read waits for that read.
  const checkOnce = (): Promise<void> => (checking ??= check().finally(() => (checking = undefined)));

  async function check(): Promise<void> {
    const now = await stamp();
    if (now === seen) return;
    seen = now;
    const read = await readTokensFile(path, reserved);
    if ('problems' in read) {
      refused = true;
      metrics?.tokensReloads.inc({ result: 'rejected' });
      logger.error(
        { file: path, problems: read.problems, tokens: tokens.length },
        'tokens file rejected: the last good tokens stay in force until it is fixed',
      );
      return;
    }
    const before = new Set(tokens.map((t) => `${t.name}\0${t.role}\0${t.digest.toString('hex')}`));
    const after = new Set(read.entries.map((e) => `${e.name}\0${e.role}\0${e.sha256}`));
    const same = before.size === after.size && [...after].every((k) => before.has(k));
    if (same && !refused) return;
    refused = false;
    take(read.entries);
    metrics?.tokensReloads.inc({ result: 'loaded' });
    logger.info({ file: path, tokens: read.entries.length }, 'tokens file loaded');
  }

  return {
    path,
    async load() {
      seen = await stamp();
      const read = await readTokensFile(path, reserved);
      if ('problems' in read)
        throw new ConfigError(read.problems.map((p) => ({ path: 'AUTOMOD_TOKENS_FILE', message: `${path}: ${p.path}: ${p.message}` })));
      take(read.entries);
    },
    current: () => tokens,
    check: checkOnce,
    watch() {
      if (timer) return;
      timer = setInterval(
        () => void checkOnce().catch((err: unknown) => logger.error({ err, file: path }, 'tokens file check failed')),
        options.intervalMs ?? 1000,
      );
      timer.unref();
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
