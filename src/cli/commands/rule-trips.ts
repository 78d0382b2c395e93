import type { Services } from '../../app/services.js';
import { rearmRule } from '../../consequences/rule-trips.js';
import { UsageError } from '../../shared/errors.js';
import { esc } from '../../shared/terminal-text.js';
import { printJson, table, type CommandIo } from '../format.js';

/** `automod rules rearm RULE`: exit 0 when it was re-armed, 1 when it was not tripped. */
export async function runRulesRearm(
  services: Pick<Services, 'budgets' | 'audit' | 'logger'>,
  rule: string,
  options: { json: boolean; by: string },
  io: CommandIo,
): Promise<number> {
  if (!/^[a-z0-9][a-z0-9-]{0,99}$/.test(rule)) throw new UsageError(esc`"${rule}" is not a rule name (lower-case letters, digits and "-")`);
  const result = await rearmRule(services, rule, options.by);
  if (options.json) printJson(result, io.stdout);
  else if (result.rearmed)
    io.stdout.write(
      esc`rule ${rule} re-armed (it tripped at ${result.tripped?.at ?? '?'} past ${result.tripped?.budget ?? 'its budget'}); its hits remove again\n`,
    );
  else io.stdout.write(esc`rule ${rule} was not tripped; nothing to re-arm\n`);
  return result.rearmed ? 0 : 1;
}

/** `automod rules tripped`. */
export async function runRulesTripped(services: Pick<Services, 'budgets'>, options: { json: boolean }, io: CommandIo): Promise<number> {
  const tripped = await services.budgets.tripped();
  if (options.json) printJson({ tripped }, io.stdout);
  else if (tripped.length === 0) io.stdout.write('no rule is tripped\n');
  else
    io.stdout.write(
      `${table(
        ['rule', 'budget', 'tripped at', 'arms itself at'],
        tripped.map((t) => [t.rule, t.budget, t.at, t.until]),
        io.columns,
      )}\nre-arm one with: automod rules rearm RULE\n`,
    );
  return 0;
}
