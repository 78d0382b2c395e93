import { readdir, readFile, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { join } from 'node:path';
import { compare } from '../shared/compare.js';
import { RulesError, type Problem } from '../shared/errors.js';
import { loadRules } from '../moderation/rules-loader.js';
import { createPatternCostProbe } from './pattern-cost.js';
import type { ListFile, RuleFile, RuleSet } from '../moderation/types.js';

/**
 * Reads a rules folder for `loadRules`: every `*.json` directly in `dir` and every
 * `lists/NAME.txt`, both sorted by name. Symbolic links are followed (a Kubernetes ConfigMap volume
 * is `x.json -> ..data/x.json`); names starting with "." are skipped, so ConfigMap's `..data` and
 * editors' lock and swap files are never read as rules. Paths in the result are relative to `dir`,
 * as problems show them. Throws `RulesError` when the folder or a file cannot be read.
 */
export async function readRulesFolder(dir: string): Promise<{ files: RuleFile[]; lists: ListFile[] }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new RulesError([{ path: dir, message: describeReadError(err, 'rules folder') }]);
  }
  const ruleNames = (await kept(dir, entries, (e) => e.name.endsWith('.json'), '')).filter(([, s]) => s.isFile()).map(([name]) => name);
  const files = await Promise.all(ruleNames.map(async (name) => ({ path: name, content: await readText(join(dir, name), name) })));

  let listNames: string[] = [];
  const [listsEntry] = await kept(dir, entries, (e) => e.name === 'lists', '');
  if (listsEntry?.[1].isDirectory()) {
    const listEntries = await readdir(join(dir, 'lists'), { withFileTypes: true }).catch((err: unknown) => {
      throw new RulesError([{ path: join(dir, 'lists'), message: describeReadError(err, 'lists folder') }]);
    });
    listNames = (await kept(join(dir, 'lists'), listEntries, (e) => e.name.endsWith('.txt'), 'lists/'))
      .filter(([, s]) => s.isFile())
      .map(([name]) => name);
  }
  const lists = await Promise.all(
    listNames.map(async (file) => ({
      name: file.slice(0, -'.txt'.length),
      content: await readText(join(dir, 'lists', file), `lists/${file}`),
    })),
  );
  return { files, lists };
}

/**
 * The entries `wanted` picks, minus dot-entries, each with what it is after following symbolic
 * links, sorted by name. A link that leads nowhere is a problem rather than a file silently left
 * out: a ConfigMap caught half-updated or a mistyped link would otherwise drop rules unseen.
 */
async function kept(dir: string, entries: Dirent[], wanted: (e: Dirent) => boolean, shownPrefix: string): Promise<[string, Stats][]> {
  const picked = entries.filter((e) => !e.name.startsWith('.') && wanted(e)).sort((a, b) => compare(a.name, b.name));
  return Promise.all(
    picked.map(async (e): Promise<[string, Stats]> => {
      try {
        return [e.name, await stat(join(dir, e.name))];
      } catch (err) {
        const what = e.isSymbolicLink() ? 'symbolic link target' : 'file';
        throw new RulesError([{ path: `${shownPrefix}${e.name}`, message: describeReadError(err, what) }]);
      }
    }),
  );
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
  if (code === 'ELOOP') return `${what} is a loop of symbolic links`;
  if (code === 'EACCES' || code === 'EPERM') return `${what} is not readable (permission denied)`;
  return `${what} cannot be read${code ? ` (${code})` : ''}`;
}

/** Loads a rules folder; the problems (with file, rule and JSON path) when it is invalid. */
export async function loadRulesFolder(
  dir: string,
  options: {
    /** Measures a pattern's cost (default: timed probes); `null`: only the program size is checked (a worker). */
    patternCost?: ((pattern: string) => number) | null;
  } = {},
): Promise<{ ruleSet: RuleSet; problems?: undefined } | { ruleSet?: undefined; problems: readonly Problem[] }> {
  try {
    const folder = await readRulesFolder(dir);
    const patternCost = options.patternCost === null ? undefined : (options.patternCost ?? createPatternCostProbe());
    const loaded = loadRules(folder.files, folder.lists, {
      ...(patternCost ? { patternCost } : {}),
    });
    return loaded.ruleSet ? { ruleSet: loaded.ruleSet } : { problems: loaded.problems };
  } catch (err) {
    if (err instanceof RulesError) return { problems: err.problems };
    throw err;
  }
}
