import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import type { CliContext } from '../context.js';

/** `automod completion bash|zsh|fish`: a script made from the command tree as registered. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices([...SHELLS]))
    .action((shell: Shell) => {
      ctx.io.stdout.write(completionScript(program, shell));
    });
}
