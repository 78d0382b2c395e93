import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { startAutomod } from '../../app/automod.js';
import { parseConfig, type Env } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import type { Services } from '../../app/services.js';
import type { Simulator } from '../../simulator/simulator.js';
import { freePort } from '../../shared/free-port.js';
import { sleep } from '../../shared/sleep.js';
import { deleteKeys } from '../../store/scan-keys.js';
import type { CliContext } from '../context.js';
import { table, type CommandIo } from '../format.js';
import { showRaid } from './demo-raid.js';

/** The shipped rules, next to the package whether run from `dist/` or from `src/`. */
export const SHIPPED_RULES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'rules');

const SESSION = '61adc697a239e84d0aaa7e15';
const MEETING = 'demo-room-1234';

/** The scripted meeting: who is there, and what they do. */
const PEOPLE = [
  { participantId: 'host-alice', name: 'Alice (host)', role: 'host' },
  { participantId: 'mod-sam', name: 'Support Sam', role: 'moderator' },
  { participantId: 'bob-42', name: 'Bob', role: 'participant' },
  { participantId: 'carol-7', name: 'Carol', role: 'participant' },
  { participantId: 'fake-admin', name: 'Admin Team', role: 'participant' },
  { participantId: 'spammer-9', name: 'Dave', role: 'participant' },
  { participantId: 'eve-13', name: 'Eve', role: 'participant' },
  { participantId: 'blocked-demo-1', name: 'Mallory', role: 'participant' },
];

/** `automod demo`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run the whole pipeline against the bundled VideoSDK simulator and print who was removed')
    .action(async () => {
      ctx.setExitCode(await runDemo(ctx.env, ctx.io));
    });
}

/**
 * `automod demo`: the whole pipeline on this machine. Uses REDIS_URL, or starts a private
 * redis-server when nothing answers there; runs the simulator and the workers in-process; feeds a
 * scripted meeting through the HTTP API and prints who was removed, by which rule.
 */
export async function runDemo(env: Env, io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const say = (line: string) => io.stdout.write(`${line}\n`);
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let privateRedis: ChildProcess | undefined;
  let url = redisUrl;
  if (!(await answers(redisUrl))) {
    const port = await freePort();
    say(`Nothing answers at ${redisUrl}; starting a private redis-server on port ${port}.`);
    privateRedis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const failed = new Promise<'failed'>((resolve) => privateRedis!.once('error', () => resolve('failed')));
    url = `redis://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 50 && !ready; i++) {
      if ((await Promise.race([failed, sleep(100).then(() => 'waited' as const)])) === 'failed') break;
      ready = await answers(url);
    }
    if (!ready) {
      io.stderr.write('No Redis: set REDIS_URL to a running Redis, or install redis-server.\n');
      privateRedis.kill();
      return 1;
    }
  }

  const secret = randomBytes(16).toString('hex');
  // Loaded here, not with the command line: every other command starts without it.
  const { createSimulator } = await import('../../simulator/simulator.js');
  const simulator = createSimulator({ secret, apiKey: 'demo-api-key' });
  const simulatorUrl = await simulator.listen(0);
  simulator.addSession({
    id: SESSION,
    meetingId: MEETING,
    participants: PEOPLE.map(({ participantId, name }) => ({ participantId, name })),
  });

  const prefix = `automod-demo-${randomBytes(3).toString('hex')}`;
  const config = parseConfig({
    REDIS_URL: url,
    AUTOMOD_PREFIX: prefix,
    AUTOMOD_RULES: env.AUTOMOD_RULES ?? SHIPPED_RULES,
    VIDEOSDK_API_BASE: simulatorUrl,
    VIDEOSDK_API_KEY: 'demo-api-key',
    VIDEOSDK_SECRET: secret,
    AUTOMOD_HTTP_HOST: '127.0.0.1',
    AUTOMOD_HTTP_PORT: '0',
    LOG_LEVEL: env.LOG_LEVEL ?? 'silent',
  });
  const automod = await startAutomod(config, createLogger(config), { watchRules: false });
  try {
    say(`VideoSDK simulator at ${simulatorUrl}; automod HTTP API at ${automod.url}; rules from ${config.rulesDir}.`);
    say(`Meeting ${MEETING}, session ${SESSION}: ${PEOPLE.map((p) => p.name).join(', ')}.\n`);

    const events = script();
    const response = await fetch(`${automod.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    const accepted = (await response.json()) as { accepted?: number };
    say(`Posted ${events.length} events to POST /v1/events: ${response.status}, accepted ${accepted.accepted ?? 0}.`);

    // Wait until the events are processed and every removal has an outcome.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const counts = await automod.services.queues.events.getJobCounts('waiting', 'active', 'delayed');
      const removals = await automod.services.queues.removals.getJobCounts('waiting', 'active', 'delayed');
      const busy = Object.values(counts).reduce((a, b) => a + b, 0) + Object.values(removals).reduce((a, b) => a + b, 0);
      if (busy === 0 || Date.now() > deadline) break;
      await sleep(100);
    }

    const recorded = await automod.services.sessions.get(SESSION);
    const removals = recorded?.removals ?? [];
    const names = new Map(PEOPLE.map((p) => [p.participantId, p.name]));
    say('\nRemoved from the meeting:');
    say(
      table(
        ['participant', 'name', 'rule', 'outcome', 'reason'],
        removals.map((r) => [r.participantId, names.get(r.participantId) ?? '', r.rule ?? '', r.outcome, r.reason]),
      ),
    );
    const flagged = await automod.services.audit.query({ kind: 'rule-hit', sessionId: SESSION, limit: 1000 });
    const notes = flagged.filter((r) => r.outcome === 'flagged' || r.outcome === 'skipped-shadow');
    if (notes.length > 0) {
      say('\nRecorded without removal (flag rules and shadow-mode rules):');
      say(
        table(
          ['participant', 'rule', 'mode', 'outcome'],
          notes.reverse().map((r) => [r.participantId ?? '', r.rule ?? '', r.mode ?? '', r.outcome ?? '']),
        ),
      );
    }
    await showRejoinDenied({ automodUrl: automod.url!, simulator, services: automod.services, say });
    const regulars = PEOPLE.filter((p) => ['host-alice', 'mod-sam', 'bob-42', 'carol-7'].includes(p.participantId));
    for (const line of await showRaid({
      automodUrl: automod.url!,
      simulator,
      services: automod.services,
      session: SESSION,
      meeting: MEETING,
      regulars,
    }))
      say(line);
    const stillIn =
      simulator
        .getSession(SESSION)
        ?.participants.filter((p) => p.timelog.at(-1)?.end === null)
        .map((p) => p.name) ?? [];
    say(`\nStill in the meeting: ${stillIn.join(', ')}.`);
    const applied = simulator.calls().filter((c) => c.operation === 'remove' && c.applied);
    const distinct = new Set(applied.map((c) => c.participantId)).size;
    say(`VideoSDK remove-participant calls that took effect: ${applied.length}, for ${distinct} participant(s).`);
    say(
      '\nTry it yourself: `automod simulator --port 9090` in one terminal, then `automod start` with VIDEOSDK_API_BASE=http://127.0.0.1:9090 (see docs/simulator.md).',
    );
    return removals.length > 0 ? 0 : 1;
  } finally {
    await automod.close();
    const cleanup = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    await deleteKeys(cleanup, `{${prefix}}*`).catch(() => undefined);
    cleanup.disconnect();
    await simulator.close();
    privateRedis?.kill();
  }
}

/**
 * Bans: a removed participant can join again at once with the token they hold. The chat flooder is
 * banned for 10 minutes (as an operator would, POST /v1/bans), joins again, and is removed on the
 * join event (rule `ban`); the token gate says so too.
 */
async function showRejoinDenied(input: {
  automodUrl: string;
  simulator: Simulator;
  services: Pick<Services, 'sessions'>;
  say: (line: string) => void;
}): Promise<void> {
  const { automodUrl, simulator, services, say } = input;
  const dave = PEOPLE.find((p) => p.participantId === 'spammer-9')!;
  const post = (path: string, body: unknown) =>
    fetch(`${automodUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await post('/v1/bans', { participantId: dave.participantId, meetingId: MEETING, for: '10m', reason: 'chat flooding' });
  say(`\nBans: ${dave.name} is banned from ${MEETING} for 10 minutes (POST /v1/bans), then joins again with the token he holds.`);
  simulator.join(SESSION, dave.participantId, dave.name);
  const joinedAt = Date.now();
  await post('/v1/events', {
    id: `demo-rejoin-${joinedAt}`,
    type: 'participant-joined',
    meetingId: MEETING,
    sessionId: SESSION,
    participantId: dave.participantId,
    participantName: dave.name,
    data: { role: dave.role },
  });
  const isIn = () =>
    simulator
      .getSession(SESSION)
      ?.participants.find((p) => p.participantId === dave.participantId)
      ?.timelog.at(-1)?.end === null;
  while (isIn() && Date.now() - joinedAt < 10_000) await sleep(20);
  const tookMs = Date.now() - joinedAt;
  // The session record is written just after the remove call: wait for it briefly.
  for (let i = 0; i < 50; i++) {
    const recorded = await services.sessions.get(SESSION);
    if (recorded?.removals.some((r) => r.participantId === dave.participantId && r.rule === 'ban')) break;
    await sleep(20);
  }
  say(
    isIn()
      ? `${dave.name} is still in: the ban removal did not happen.`
      : `${dave.name} was removed again ${tookMs} ms after his join event (rule "ban").`,
  );
  const gate = await fetch(`${automodUrl}/v1/bans/check?meetingId=${MEETING}&participantId=${dave.participantId}`);
  say(`Token gate, GET /v1/bans/check before minting a join token: ${JSON.stringify(await gate.json())}`);
}

/**
 * The meeting as events: joins, chat, an impersonator, a spammer, a banned phrase, a blocklisted id.
 * It began two minutes ago: those who are in when the raid comes joined well before the wave.
 */
function script(): object[] {
  const t0 = Date.now() - 120_000;
  let n = 0;
  const at = (offsetMs: number) => new Date(t0 + offsetMs).toISOString();
  const event = (type: string, who: (typeof PEOPLE)[number], offsetMs: number, data: Record<string, unknown> = {}) => ({
    id: `demo-${++n}`,
    type,
    meetingId: MEETING,
    sessionId: SESSION,
    participantId: who.participantId,
    participantName: who.name,
    timestamp: at(offsetMs),
    data: { role: who.role, ...data },
  });
  const [alice, sam, bob, carol, _fakeAdmin, dave, eve, _mallory] = PEOPLE as [
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
    (typeof PEOPLE)[number],
  ];
  const events = [
    ...PEOPLE.map((p, i) => event('participant-joined', p, i * 200)),
    event('chat-message', alice, 2000, { text: 'Welcome everyone, we start in a minute.' }),
    event('chat-message', sam, 2200, { text: 'Support here: ask me if your audio fails.' }),
    event('chat-message', bob, 2500, { text: 'Hi all!' }),
    event('chat-message', eve, 3000, { text: 'Want FREE CRYPTO? DM me' }),
    event('chat-message', carol, 3200, { text: 'Glad to be here.' }),
  ];
  for (let i = 0; i < 9; i++) events.push(event('chat-message', dave, 4000 + i * 300, { text: `join my channel ${i}` }));
  return events;
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
