import { join } from 'node:path';
import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { loadRulesFolder } from '../../rules/rules-source.js';
import type { CliContext } from '../context.js';
import { esc } from '../../shared/terminal-text.js';
import { failed, printJson, table, type CommandIo } from '../format.js';

/**
 * `automod lists add|remove NAME VALUE...`: effective on every worker's next event. Adding to a
 * list that does not exist yet, that no rule in the rules folder reads and that has no file in
 * `lists/`, is refused (exit 1) unless `create`: most likely a typo, whose values would guard
 * nothing.
 */
export async function runListsChange(
  services: Services,
  verb: 'add' | 'remove',
  name: string,
  values: readonly string[],
  options: { rulesDir: string; json?: boolean; create?: boolean },
  io: CommandIo,
): Promise<number> {
  const json = options.json ?? false;
  const loaded = await loadRulesFolder(options.rulesDir).catch(() => undefined);
  const read = loaded?.ruleSet !== undefined && (loaded.ruleSet.referencedLists.includes(name) || loaded.ruleSet.fileLists.has(name));
  if (verb === 'add' && !read && !options.create && !(await exists(services, name))) {
    const uses = loaded?.ruleSet
      ? `no rule in ${options.rulesDir} uses it (they use: ${loaded.ruleSet.referencedLists.join(', ') || 'none'}) and ${join(options.rulesDir, 'lists', `${name}.txt`)} does not exist`
      : `the rules folder ${options.rulesDir} could not be read to tell whether a rule uses it`;
    return failed(
      io,
      json,
      `no live list "${name}": ${uses}; to create it anyway: automod lists add ${name} VALUE... --create`,
      'ERR_NOT_FOUND',
    );
  }
  const changed = verb === 'add' ? await services.lists.add(name, values) : await services.lists.remove(name, values);
  const size = await services.lists.size(name);
  if (json) printJson({ list: name, [verb === 'add' ? 'added' : 'removed']: changed, unchanged: values.length - changed, size }, io.stdout);
  else
    io.stdout.write(
      verb === 'add'
        ? `added ${changed} value(s) to ${name} (${values.length - changed} already there); the live list holds ${size}\n`
        : `removed ${changed} value(s) from ${name} (${values.length - changed} were not there); the live list holds ${size}\n`,
    );
  // A list no rule reads is most likely a typo: say so (when this machine has the rules folder).
  if (loaded?.ruleSet && !loaded.ruleSet.referencedLists.includes(name)) {
    io.stderr.write(
      esc`note: no rule in ${options.rulesDir} uses the list "${name}" (they use: ${loaded.ruleSet.referencedLists.join(', ') || 'none'})\n`,
    );
  }
  return 0;
}

async function exists(services: Services, name: string): Promise<boolean> {
  return (await services.lists.size(name)) > 0 || (await services.lists.names()).includes(name);
}

/** `automod lists show [NAME]`: the live values of a list, or every live list with its size. */
export async function runListsShow(
  services: Services,
  name: string | undefined,
  options: { json: boolean; rulesDir: string },
  io: CommandIo,
): Promise<number> {
  if (name === undefined) {
    const names = await services.lists.names();
    const sizes = await Promise.all(names.map((n) => services.lists.size(n)));
    if (options.json)
      printJson(
        names.map((n, i) => ({ name: n, values: sizes[i] })),
        io.stdout,
      );
    else
      io.stdout.write(
        names.length === 0
          ? '(no live lists)\n'
          : `${table(
              ['list', 'values'],
              names.map((n, i) => [n, sizes[i]]),
              io.columns,
            )}\n`,
      );
    return 0;
  }
  const values = await services.lists.show(name);
  if (options.json) {
    printJson(values, io.stdout);
    return 0;
  }
  // One value a line, each escaped: a value is shown as one line whatever it holds.
  io.stdout.write(values.length > 0 ? `${values.map((v) => esc`${v}`).join('\n')}\n` : '(empty)\n');
  const loaded = await loadRulesFolder(options.rulesDir).catch(() => undefined);
  const file = loaded?.ruleSet?.fileLists.get(name);
  if (file !== undefined)
    io.stderr.write(`note: rules also read ${file.length} value(s) of ${join(options.rulesDir, 'lists', `${name}.txt`)}\n`);
  return 0;
}

/** `automod lists add|remove|show`. */
export function register(program: Command, ctx: CliContext): void {
  const lists = program
    .command('lists')
    .description('live lists in Redis, read by inList, notInList and containsWord beside rules/lists/*.txt');
  lists
    .command('add')
    .description(
      'add values to a live list; every worker uses them from its next event. A new list no rule reads is refused (a typo?) unless --create',
    )
    .argument('<name>')
    .argument('<values...>')
    .option('--create', 'create the list even though no rule in the rules folder reads it yet')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, values: string[], options: { json?: boolean; create?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runListsChange(
            services,
            'add',
            name,
            values,
            { rulesDir: services.config.rulesDir, json: options.json ?? false, create: options.create ?? false },
            ctx.io,
          ),
        ),
      );
    });
  lists
    .command('remove')
    .description('remove values from a live list (values in rules/lists/*.txt stay)')
    .argument('<name>')
    .argument('<values...>')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, values: string[], options: { json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runListsChange(services, 'remove', name, values, { rulesDir: services.config.rulesDir, json: options.json ?? false }, ctx.io),
        ),
      );
    });
  lists
    .command('show')
    .description('the values of a live list, or every live list with its size')
    .argument('[name]', 'a list (omit to list them all)')
    .option('--json', 'print as JSON')
    .action(async (name: string | undefined, options: { json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runListsShow(services, name, { json: options.json ?? false, rulesDir: services.config.rulesDir }, ctx.io),
        ),
      );
    });
}
