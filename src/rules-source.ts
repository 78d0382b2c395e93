import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RulesError } from './errors.js';
import type { ListFile, RuleFile } from './moderation/types.js';

/**
 * Reads a rules folder for `loadRules`: every `*.json` directly in `dir` and every
 * `lists/NAME.txt`, both sorted by name. Paths in the result are relative to `dir`, as problems
 * show them. Throws `RulesError` when the folder cannot be read.
 */
export async function readRulesFolder(dir: string): Promise<{ files: RuleFile[]; lists: ListFile[] }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new RulesError([{ path: dir, message: describeReadError(err, 'rules folder') }]);
  }
  const ruleNames = entries.filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => e.name).sort();
  const files = await Promise.all(
    ruleNames.map(async (name) => ({ path: name, content: await readText(join(dir, name), name) })),
  );

  let listNames: string[] = [];
  if (entries.some((e) => e.isDirectory() && e.name === 'lists')) {
    const listEntries = await readdir(join(dir, 'lists'), { withFileTypes: true }).catch((err: unknown) => {
      throw new RulesError([{ path: join(dir, 'lists'), message: describeReadError(err, 'lists folder') }]);
    });
    listNames = listEntries.filter((e) => e.isFile() && e.name.endsWith('.txt')).map((e) => e.name).sort();
  }
  const lists = await Promise.all(
    listNames.map(async (file) => ({
      name: file.slice(0, -'.txt'.length),
      content: await readText(join(dir, 'lists', file), `lists/${file}`),
    })),
  );
  return { files, lists };
}

async function readText(path: string, shown: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new RulesError([{ path: shown, message: describeReadError(err, 'file') }]);
  }
}

function describeReadError(err: unknown, what: string): string {
  const code = err !== null && typeof err === 'object' && 'code' in err ? String(err.code) : undefined;
  if (code === 'ENOENT') return `${what} does not exist`;
  if (code === 'ENOTDIR') return `${what} is not a folder`;
  if (code === 'EACCES' || code === 'EPERM') return `${what} is not readable (permission denied)`;
  return `${what} cannot be read${code ? ` (${code})` : ''}`;
}
