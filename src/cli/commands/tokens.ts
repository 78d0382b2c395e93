import { Option, type Command } from 'commander';
import { ROLES, type Role } from '../../http/roles.js';
import {
  API_TOKEN_NAME,
  newToken,
  readTokensFile,
  TOKEN_NAME_PATTERN,
  tokenSha256,
  writeTokensFile,
  type TokenEntry,
} from '../../http/tokens-file.js';
import { ConfigError, UsageError } from '../../shared/errors.js';
import type { CliContext } from '../context.js';
import { failed, printJson, table, type CommandIo } from '../format.js';

/** How long a worker takes, at most, to see a change of the file (it looks every second). */
const TAKEN_WITHIN = 'within 5 s, without a restart';

/** The file's entries; a file that does not exist yet is empty, one that does not read is refused whole. */
async function entriesOf(path: string): Promise<{ entries: TokenEntry[]; exists: boolean }> {
  const read = await readTokensFile(path);
  if ('entries' in read) return { entries: read.entries, exists: true };
  if (read.problems.length === 1 && read.problems[0]!.message === 'does not exist') return { entries: [], exists: false };
  // Writing over a file that does not read would lose what the workers still hold.
  throw new ConfigError(read.problems.map((p) => ({ path: 'AUTOMOD_TOKENS_FILE', message: `${path}: ${p.path}: ${p.message}` })));
}

/**
 * `automod tokens add NAME --role ROLE`: a new token, printed once (alone on stdout, so a script
 * can take it), its SHA-256 written to the tokens file (a new file when there is none).
 */
export async function runTokensAdd(path: string, name: string, role: Role, options: { json: boolean }, io: CommandIo): Promise<number> {
  if (name === API_TOKEN_NAME) throw new UsageError(`"${API_TOKEN_NAME}" is the name of AUTOMOD_API_TOKEN: choose another name`);
  if (!TOKEN_NAME_PATTERN.test(name))
    throw new UsageError(
      'a token name is 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit (it is recorded as token:<name>)',
    );
  const { entries } = await entriesOf(path);
  const taken = entries.find((e) => e.name === name);
  if (taken)
    return failed(
      io,
      options.json,
      `a token named "${name}" exists already (role ${taken.role}); to rotate it, add the new one under another name, then revoke "${name}"`,
      'ERR_CONFLICT',
    );
  const token = newToken();
  await writeTokensFile(path, [...entries, { name, role, sha256: tokenSha256(token) }]);
  if (options.json) {
    printJson({ name, role, token, file: path }, io.stdout);
    return 0;
  }
  io.stdout.write(`${token}\n`);
  io.stderr.write(
    `added "${name}" (role ${role}) to ${path}; its token, on stdout, is shown this once (the file keeps only its SHA-256); the workers take it ${TAKEN_WITHIN}\n`,
  );
  return 0;
}

/** `automod tokens list`: names and roles (never a hash), AUTOMOD_API_TOKEN's beside the file's. */
export async function runTokensList(path: string, apiToken: boolean, options: { json: boolean }, io: CommandIo): Promise<number> {
  const { entries, exists } = await entriesOf(path);
  const rows = [
    ...(apiToken ? [{ name: API_TOKEN_NAME, role: 'admin', from: 'AUTOMOD_API_TOKEN' }] : []),
    ...entries.map((e) => ({ name: e.name, role: e.role, from: path })),
  ];
  if (options.json) {
    printJson({ tokens: rows }, io.stdout);
    return 0;
  }
  if (!exists) io.stderr.write(`${path} does not exist yet: automod tokens add NAME --role ROLE makes it\n`);
  io.stdout.write(
    rows.length === 0
      ? '(no tokens)\n'
      : `${table(
          ['name', 'role', 'from'],
          rows.map((r) => [r.name, r.role, r.from]),
          io.columns,
        )}\n`,
  );
  return 0;
}

/** `automod tokens revoke NAME`: its line leaves the file; every worker refuses the token within 5 s. */
export async function runTokensRevoke(path: string, name: string, options: { json: boolean }, io: CommandIo): Promise<number> {
  if (name === API_TOKEN_NAME)
    throw new UsageError(`"${API_TOKEN_NAME}" is AUTOMOD_API_TOKEN: change it in the workers' environment and restart them`);
  const { entries } = await entriesOf(path);
  const revoked = entries.find((e) => e.name === name);
  if (!revoked) return failed(io, options.json, `no token named "${name}" in ${path} (automod tokens list shows them)`, 'ERR_NOT_FOUND');
  await writeTokensFile(
    path,
    entries.filter((e) => e !== revoked),
  );
  if (options.json) printJson({ revoked: name, role: revoked.role, file: path }, io.stdout);
  else io.stdout.write(`revoked "${name}" (role ${revoked.role}): the workers refuse its token ${TAKEN_WITHIN}\n`);
  return 0;
}

/** `automod tokens add|list|revoke`. */
export function register(program: Command, ctx: CliContext): void {
  const tokens = program
    .command('tokens')
    .description('named, scoped API tokens in AUTOMOD_TOKENS_FILE: who may call which routes (docs/operations.md, "Who gets which token")');
  const fileOption = () => new Option('--file <file>', 'the tokens file (default: AUTOMOD_TOKENS_FILE)');
  const pathOf = (file: string | undefined): string => {
    const path = file ?? ctx.config().http.tokensFile;
    if (path === undefined) throw new UsageError('no tokens file: set AUTOMOD_TOKENS_FILE (the workers read it) or give --file');
    return path;
  };

  tokens
    .command('add')
    .description('make a token: printed once, only its SHA-256 written to the file')
    .argument('<name>', 'who holds it, recorded as token:<name> with what it does')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
    .addOption(fileOption())
    .option('--json', 'print {name, role, token, file} as JSON')
    .action(async (name: string, options: { role: Role; file?: string; json?: boolean }) => {
      ctx.setExitCode(await runTokensAdd(pathOf(options.file), name, options.role, { json: options.json ?? false }, ctx.io));
    });

  tokens
    .command('list')
    .description('the tokens by name and role (never their hashes)')
    .addOption(fileOption())
    .option('--json', 'print as JSON')
    .action(async (options: { file?: string; json?: boolean }) => {
      ctx.setExitCode(
        await runTokensList(pathOf(options.file), Boolean(ctx.env.AUTOMOD_API_TOKEN?.trim()), { json: options.json ?? false }, ctx.io),
      );
    });

  tokens
    .command('revoke')
    .description('remove a token from the file: every worker refuses it within 5 s, without a restart')
    .argument('<name>')
    .addOption(fileOption())
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { file?: string; json?: boolean }) => {
      ctx.setExitCode(await runTokensRevoke(pathOf(options.file), name, { json: options.json ?? false }, ctx.io));
    });
}
