import { Command, CommanderError } from 'commander';
import { AutomodError, ConfigError, InternalError, RulesError, UsageError } from '../shared/errors.js';
import { terminalText } from '../shared/terminal-text.js';
import { RedisUnreachableError } from '../store/redis.js';
import { register as audit } from './commands/audit.js';
import { register as bans } from './commands/bans.js';
import { register as clusterPlan } from './commands/cluster-plan.js';
import { register as completion } from './commands/completion.js';
import { register as deadLetters } from './commands/dead-letters.js';
import { register as demo } from './commands/demo.js';
import { register as events } from './commands/events.js';
import { register as jobs } from './commands/jobs.js';
import { register as lists } from './commands/lists.js';
import { register as lockdowns } from './commands/lockdowns.js';
import { register as pause } from './commands/pause.js';
import { register as remove } from './commands/remove.js';
import { register as replay } from './commands/replay.js';
import { register as reviews } from './commands/reviews.js';
import { register as rules } from './commands/rules.js';
import { register as session } from './commands/session.js';
import { register as simulator } from './commands/simulator.js';
import { register as start } from './commands/start.js';
import { register as status } from './commands/status.js';
import { register as tokens } from './commands/tokens.js';
import { createCliContext, type RegisterCommands } from './context.js';
import { printJson, problemLines } from './format.js';
import { addHelpDetails, shortUsageAfterErrors } from './help.js';

/**
 * The command router: the only place that reads `process` (environment, arguments, streams, signals)
 * and decides exit codes: 0 ok, 1 failure, 2 usage or bad configuration or rules, 3 Redis
 * unreachable, 4 no worker (README: Command line). Each command lives in `commands/`.
 */

/** In the order `automod --help` lists them. */
const COMMANDS: readonly RegisterCommands[] = [
  start,
  demo,
  rules,
  events,
  remove,
  bans,
  lockdowns,
  jobs,
  replay,
  reviews,
  deadLetters,
  session,
  audit,
  lists,
  pause,
  tokens,
  status,
  clusterPlan,
  simulator,
  completion,
];

/** Exit code of a command that could not reach Redis. */
const EXIT_REDIS_UNREACHABLE = 3;

const ctx = createCliContext({
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  setExitCode: (code) => (process.exitCode = code),
  onceSignal: (signal, handler) => process.once(signal, handler),
  exit: (code) => process.exit(code),
});

// `automod jobs | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

const program = new Command();
program
  .name('automod')
  .description('Rule-based auto-moderation worker for VideoSDK meetings')
  .version('0.1.0')
  // Usage errors are thrown instead of exiting 1, so they exit 2 like every other usage error.
  .exitOverride()
  .configureOutput({ writeOut: (text) => ctx.io.stdout.write(text), writeErr: (text) => ctx.io.stderr.write(text) });
for (const register of COMMANDS) register(program, ctx);
addHelpDetails(program);
shortUsageAfterErrors(program);

// With --json, a failure is also a JSON document on stdout (`{"error", "code"}`), for scripts.
let json = false;
program.hook('preAction', (_program, command) => {
  json = command.opts<{ json?: boolean }>().json === true;
});

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander has printed its message (and a usage line); --help and --version end here too.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  let message: string;
  if (err instanceof UsageError) {
    message = `error: ${err.message}`;
    process.exitCode = 2;
  } else if (err instanceof ConfigError || err instanceof RulesError) {
    message = `${err.code === 'ERR_CONFIG' ? 'configuration' : 'rules'} problem(s):\n${problemLines(err.problems)}`;
    process.exitCode = 2;
  } else if (err instanceof RedisUnreachableError) {
    message = `error: ${err.message}`;
    process.exitCode = EXIT_REDIS_UNREACHABLE;
  } else {
    message = `error: ${err instanceof Error ? err.message : String(err)}`;
    process.exitCode = 1;
  }
  if (json) printJson({ error: err instanceof Error ? err.message : String(err), code: codeOf(err) }, ctx.io.stdout);
  // Exit once the message is out: a connection opened before the failure must not keep us alive.
  process.stderr.write(`${message.split('\n').map(terminalText).join('\n')}\n`, () => process.exit());
});

function codeOf(err: unknown): string {
  return (err instanceof AutomodError ? err : new InternalError(err)).code;
}
