import type { Command } from 'commander';
import { commandPath } from './help.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What may follow an option: one of its choices, a file name, or any value. */
interface OptionValues {
  flag: string;
  kind: 'choices' | 'file' | 'any';
  choices: readonly string[];
}

interface Entry {
  /** Command path joined by `.` (`rules.check`); '' for the program itself. */
  key: string;
  name: string;
  subcommands: string[];
  options: string[];
  /** The options that take a value. */
  values: OptionValues[];
  /** The choices of its first argument (`completion <shell>`, `review <decision>`). */
  args: readonly string[];
}

/** Every command of the tree with what may follow it: its subcommands, else its long options, and their values. */
function entries(program: Command): Entry[] {
  const out: Entry[] = [];
  const visit = (command: Command) => {
    const key = command.parent ? commandPath(command).replace(/ /g, '.') : '';
    const values: OptionValues[] = [];
    for (const option of command.options) {
      if (option.long === undefined || !(option.required || option.optional)) continue;
      const choices = option.argChoices ?? [];
      // A value named <file> (--file, --events, --event) is a path.
      const kind = choices.length > 0 ? 'choices' : /<file>/.test(option.flags) ? 'file' : 'any';
      values.push({ flag: option.long, kind, choices });
    }
    out.push({
      key,
      name: command.name(),
      subcommands: command.commands.map((c) => c.name()),
      options: [...command.options.map((o) => o.long).filter((l): l is string => l !== undefined), '--help'],
      values,
      args: command.registeredArguments[0]?.argChoices ?? [],
    });
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
  return out;
}

/** A completion script for `shell`, made from the commands as they are defined (never stale). */
export function completionScript(program: Command, shell: Shell): string {
  const all = entries(program);
  if (shell === 'fish') return fishScript(all);
  const bash = bashScript(all);
  // zsh runs the bash function through its bash-compatibility layer.
  return shell === 'zsh' ? `#compdef automod\nautoload -U +X bashcompinit && bashcompinit\n${bash}` : bash;
}

function bashScript(all: Entry[]): string {
  const paths = all.filter((e) => e.key !== '').map((e) => e.key);
  const cases = all.map((e) => {
    const words = e.subcommands.length > 0 ? e.subcommands : e.options;
    // A command whose argument has choices offers them, and its options after a dash.
    return e.args.length > 0
      ? `    "${e.key}") if [[ $cur == -* ]]; then words="${words.join(' ')}"; else words="${e.args.join(' ')}"; fi ;;`
      : `    "${e.key}") words="${words.join(' ')}" ;;`;
  });
  const valueCases = all.flatMap((e) =>
    e.values
      .filter((v) => v.kind !== 'any')
      .map((v) =>
        v.kind === 'file'
          ? `    "${e.key}:${v.flag}") COMPREPLY=($(compgen -f -- "$cur")); return ;;`
          : `    "${e.key}:${v.flag}") COMPREPLY=($(compgen -W "${v.choices.join(' ')}" -- "$cur")); return ;;`,
      ),
  );
  return `# automod completion for bash: source it, or save it in /etc/bash_completion.d/automod
_automod_completions() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" w i words=""
  ((COMP_CWORD > 1)) && prev="\${COMP_WORDS[COMP_CWORD - 1]}"
  local paths=" ${paths.join(' ')} "
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    case "$paths" in *" \${path:+$path.}$w "*) path="\${path:+$path.}$w" ;; esac
  done
  # The value of the option just typed: its choices, or a file.
  case "$path:$prev" in
${valueCases.join('\n')}
  esac
  case "$path" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _automod_completions automod
`;
}

function fishScript(all: Entry[]): string {
  const lines = ['# automod completion for fish: save as ~/.config/fish/completions/automod.fish', 'complete -c automod -f'];
  for (const entry of all) {
    const chain = entry.key === '' ? [] : entry.key.split('.');
    const condition =
      chain.length === 0
        ? '__fish_use_subcommand'
        : `${chain.map((name) => `__fish_seen_subcommand_from ${name}`).join('; and ')}${
            entry.subcommands.length > 0 ? `; and not __fish_seen_subcommand_from ${entry.subcommands.join(' ')}` : ''
          }`;
    if (entry.subcommands.length > 0) {
      lines.push(`complete -c automod -n '${condition}' -a '${entry.subcommands.join(' ')}'`);
      continue;
    }
    if (entry.args.length > 0) lines.push(`complete -c automod -n '${condition}' -a '${entry.args.join(' ')}'`);
    const values = new Map(entry.values.map((v) => [v.flag, v]));
    for (const option of entry.options) {
      const value = values.get(option);
      const takes =
        value === undefined ? '' : value.kind === 'choices' ? ` -xa '${value.choices.join(' ')}'` : value.kind === 'file' ? ' -rF' : ' -x';
      lines.push(`complete -c automod -n '${condition}' -l ${option.slice(2)}${takes}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
