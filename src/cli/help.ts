import type { Command } from 'commander';

const REDIS = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'AUTOMOD_PREFIX', 'AUTOMOD_REDIS_CONNECT_TIMEOUT_MS'];
const VIDEOSDK = ['VIDEOSDK_API_BASE', 'VIDEOSDK_API_VERSION', 'VIDEOSDK_TOKEN or VIDEOSDK_API_KEY + VIDEOSDK_SECRET'];

/** Examples and the environment each command reads, shown at the end of its `--help`. */
const DETAILS: Record<string, { examples: string[]; env: string[] }> = {
  start: {
    examples: ['automod start', 'automod start --only events', 'AUTOMOD_HTTP_PORT=8081 automod start --only removals'],
    env: ['every variable of the configuration table (docs/reference.md, Configuration)'],
  },
  demo: { examples: ['automod demo'], env: ['REDIS_URL (a private redis-server is started when nothing answers there)'] },
  'rules check': { examples: ['automod rules check', 'automod rules check ./rules.new --json'], env: ['AUTOMOD_RULES'] },
  'rules test': {
    examples: [
      'automod rules test --events rules/fixtures.jsonl',
      'cat events.jsonl | automod rules test ./rules --events -',
      'automod rules test --clean chat-logs.txt --evasions disguises.txt',
    ],
    env: ['AUTOMOD_RULES'],
  },
  'rules reload': { examples: ['automod rules reload', 'automod rules reload --timeout 10 --json'], env: REDIS },
  'rules backtest': { examples: ['automod rules backtest ./rules.new --since 24h'], env: REDIS },
  'events add': {
    examples: [
      'automod events add events.jsonl',
      'echo \'{"type":"chat-message","sessionId":"s1","participantId":"p1","data":{"text":"hi"}}\' | automod events add -',
    ],
    env: REDIS,
  },
  remove: {
    examples: [
      'automod remove --session S1 --participant p1 p2 --reason "spam raid"',
      'automod remove --file removals.csv --json',
      'automod remove --session S1 --all --except host-1 --no-wait',
      'automod remove --session S1 --joined-since 5m --reason "raid wave"',
    ],
    env: [...REDIS, ...VIDEOSDK, 'AUTOMOD_REMOVAL_ATTEMPTS'],
  },
  lockdown: {
    examples: [
      'automod lockdown abcd-efgh-ijkl --for 15m --reason "raid"',
      'automod lockdown abcd-efgh-ijkl --for 30m --mode ask --admit-joined-before 2m',
      'automod lockdown abcd-efgh-ijkl --for 1h --end-session --admit guest-7',
    ],
    env: [...REDIS, ...VIDEOSDK],
  },
  lockdowns: { examples: ['automod lockdowns', 'automod lockdowns --json'], env: REDIS },
  unlock: { examples: ['automod unlock abcd-efgh-ijkl'], env: REDIS },
  admit: { examples: ['automod admit abcd-efgh-ijkl guest-7 guest-8'], env: REDIS },
  'rules rearm': { examples: ['automod rules rearm banned-words'], env: REDIS },
  'rules tripped': { examples: ['automod rules tripped', 'automod rules tripped --json'], env: REDIS },
  jobs: { examples: ['automod jobs --state failed', 'automod jobs --session S1 --json'], env: REDIS },
  job: { examples: ['automod job 1b6c...'], env: REDIS },
  replay: {
    examples: ['automod replay --dry-run', 'automod replay --status 503 --since 2h --wait', 'automod replay --state delayed --job ID'],
    env: REDIS,
  },
  session: { examples: ['automod session 61adc697a239e84d0aaa7e15 --json'], env: REDIS },
  audit: { examples: ['automod audit --rule chat-flood --since 1h', 'automod audit --participant p1 --json'], env: REDIS },
  'lists add': { examples: ['automod lists add blocked-participants p-bad-1 p-bad-2'], env: [...REDIS, 'AUTOMOD_RULES'] },
  'lists remove': { examples: ['automod lists remove blocked-participants p-bad-1'], env: [...REDIS, 'AUTOMOD_RULES'] },
  'lists show': { examples: ['automod lists show', 'automod lists show banned-words --json'], env: [...REDIS, 'AUTOMOD_RULES'] },
  pause: { examples: ['automod pause --reason "VideoSDK incident"'], env: REDIS },
  resume: { examples: ['automod resume'], env: REDIS },
  'tokens add': {
    examples: [
      'automod tokens add token-server --role gate',
      'automod tokens add alice --role moderator --json',
      'TOKEN=$(automod tokens add app-backend --role ingest)',
    ],
    env: ['AUTOMOD_TOKENS_FILE (or --file)'],
  },
  'tokens list': {
    examples: ['automod tokens list', 'automod tokens list --json'],
    env: ['AUTOMOD_TOKENS_FILE (or --file)', 'AUTOMOD_API_TOKEN'],
  },
  'tokens revoke': { examples: ['automod tokens revoke alice'], env: ['AUTOMOD_TOKENS_FILE (or --file)'] },
  simulator: {
    examples: [
      'automod simulator --port 9090 --secret demo-secret --api-key demo-key',
      'automod simulator --webhook-key sim-webhook.pem --print-public-key > sim-webhook.pub',
      'automod simulator --webhook-key sim-webhook.pem --webhook-url http://127.0.0.1:8080/v1/webhooks/videosdk',
    ],
    env: ['VIDEOSDK_SECRET', 'VIDEOSDK_API_KEY'],
  },
  completion: {
    examples: [
      'automod completion bash > /etc/bash_completion.d/automod',
      'automod completion zsh > "${fpath[1]}/_automod"',
      'automod completion fish > ~/.config/fish/completions/automod.fish',
    ],
    env: [],
  },
};

/** The command's path below the program, e.g. `rules check`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Adds "Examples" and "Environment" to the help of every command that has details above; commands
 * without details get the connection variables when they have an action (every such command but
 * the offline ones above reads Redis).
 */
export function addHelpDetails(program: Command): void {
  const visit = (command: Command) => {
    for (const sub of command.commands) {
      const details = DETAILS[commandPath(sub)];
      if (details) {
        const lines = ['', 'Examples:', ...details.examples.map((e) => `  $ ${e}`)];
        if (details.env.length > 0) lines.push('', 'Environment:', ...details.env.map((e) => `  ${e}`));
        sub.addHelpText('after', lines.join('\n'));
      } else if (sub.commands.length === 0) {
        sub.addHelpText('after', ['', 'Environment:', ...REDIS.map((e) => `  ${e}`)].join('\n'));
      }
      visit(sub);
    }
  };
  visit(program);
}

/**
 * After a usage error, one usage line instead of the whole help: a typo's "(Did you mean replay?)"
 * stays in sight instead of scrolling away above sixty lines.
 */
export function shortUsageAfterErrors(program: Command): void {
  const visit = (command: Command) => {
    const usage = command.createHelp().commandUsage(command);
    const path = ['automod', commandPath(command)].filter(Boolean).join(' ');
    command.showHelpAfterError(`Usage: ${usage}  (${path} --help ${command.commands.length > 0 ? 'lists the commands' : 'for details'})`);
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
