import type { Command } from 'commander';
import { commandPath } from './help.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Entry {
  /** Command path joined by `.` (`rules.check`); '' for the program itself. */
  key: string;
  name: string;
  subcommands: string[];
  options: string[];
}

/** Every command of the tree with what may follow it: its subcommands, else its long options. */
function entries(program: Command): Entry[] {
  const out: Entry[] = [];
  const visit = (command: Command) => {
    const key = command.parent ? commandPath(command).replace(/ /g, '.') : '';
    out.push({
      key,
      name: command.name(),
      subcommands: command.commands.map((c) => c.name()),
      options: [...command.options.map((o) => o.long).filter((l): l is string => l !== undefined), '--help'],
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
  const cases = all.map(
    (e) => `    "${e.key}") words="${[...e.subcommands, ...(e.subcommands.length > 0 ? [] : e.options)].join(' ')}" ;;`,
  );
  return `# automod completion for bash: source it, or save it in /etc/bash_completion.d/automod
_automod_completions() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i words=""
  local paths=" ${paths.join(' ')} "
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    case "$paths" in *" \${path:+$path.}$w "*) path="\${path:+$path.}$w" ;; esac
  done
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
    if (entry.subcommands.length > 0) lines.push(`complete -c automod -n '${condition}' -a '${entry.subcommands.join(' ')}'`);
    else for (const option of entry.options) lines.push(`complete -c automod -n '${condition}' -l ${option.slice(2)}`);
  }
  return `${lines.join('\n')}\n`;
}
