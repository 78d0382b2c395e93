import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import type { Simulator } from '../../simulator/simulator.js';
import { webhookKeys } from '../../simulator/webhooks.js';
import type { CliContext } from '../context.js';
import type { CommandIo } from '../format.js';

export interface SimulatorCommandOptions {
  port: number;
  host: string;
  secret?: string | undefined;
  apiKey?: string | undefined;
  /** Where the simulator sends its webhooks (a worker's `/v1/webhooks/videosdk`). */
  webhookUrl?: string | undefined;
  /** A PEM file holding the webhook-signing key, made when missing, so restarts sign with the same key. */
  webhookKey?: string | undefined;
  /** Print the public key (PEM) for `VIDEOSDK_WEBHOOK_PUBLIC_KEY` and exit. */
  printPublicKey?: boolean;
}

/**
 * The webhook key kept in `path`: read when the file exists, else made and written (mode 0600,
 * never over an existing file) so the next run and the worker's `VIDEOSDK_WEBHOOK_PUBLIC_KEY` agree.
 */
async function keptKey(path: string): Promise<string> {
  const existing = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UsageError(`--webhook-key ${path} cannot be read (${err.code ?? err.message})`);
  });
  if (existing !== undefined) {
    try {
      webhookKeys(existing);
    } catch (err) {
      throw new UsageError(`--webhook-key ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return existing;
  }
  const pem = webhookKeys().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFile(path, pem, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--webhook-key ${path} cannot be written (${err.code ?? err.message})`);
  });
  return pem;
}

/**
 * `automod simulator`: the bundled VideoSDK stand-in on a port, optionally sending signed webhooks
 * to a worker. Answers the running simulator (the caller stops it), or undefined after
 * `--print-public-key`.
 */
export async function runSimulator(options: SimulatorCommandOptions, io: Pick<CommandIo, 'stdout'>): Promise<Simulator | undefined> {
  if (options.webhookUrl !== undefined && !/^https?:\/\/[^/]/i.test(options.webhookUrl)) {
    throw new UsageError(`--webhook-url must be an http(s) URL, got "${options.webhookUrl}"`);
  }
  if (options.printPublicKey && options.webhookKey === undefined) {
    throw new UsageError(
      '--print-public-key needs --webhook-key FILE: without it each run signs with a new key (a running simulator serves its own at /_sim/webhooks/public-key)',
    );
  }
  const privateKeyPem = options.webhookKey === undefined ? undefined : await keptKey(options.webhookKey);
  if (options.printPublicKey) {
    io.stdout.write(webhookKeys(privateKeyPem).publicKeyPem);
    return undefined;
  }
  const { createSimulator } = await import('../../simulator/simulator.js');
  const simulator = createSimulator({
    ...(options.secret ? { secret: options.secret } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.webhookUrl !== undefined ? { webhookUrl: options.webhookUrl } : {}),
    ...(privateKeyPem !== undefined ? { webhookPrivateKey: privateKeyPem } : {}),
  });
  const url = await simulator.listen(options.port, options.host);
  io.stdout.write(`VideoSDK simulator listening on ${url} (control API under ${url}/_sim/)\n`);
  // The query is left out: a webhook URL may carry a token.
  const target = options.webhookUrl === undefined ? undefined : new URL(options.webhookUrl);
  const where =
    target === undefined ? 'go nowhere until POST /_sim/options {"webhookUrl": ...}' : `go to ${target.origin}${target.pathname}`;
  io.stdout.write(`webhooks ${where}, signed with the key at ${url}/_sim/webhooks/public-key\n`);
  return simulator;
}

/** `automod simulator`: runs until SIGTERM or SIGINT. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('simulator')
    .description('run the bundled VideoSDK simulator')
    .option('--port <port>', 'port', '9090')
    .option('--host <host>', 'host', '127.0.0.1')
    .option('--secret <secret>', 'verify JWTs with this secret (default: VIDEOSDK_SECRET, else no auth)')
    .option('--api-key <key>', 'expected apikey claim (default: VIDEOSDK_API_KEY)')
    .option('--webhook-url <url>', "send signed webhooks (joins, leaves, session start and end) here: a worker's /v1/webhooks/videosdk")
    .option('--webhook-key <file>', 'sign webhooks with the RSA key in this PEM file, made when missing (default: a new key per run)')
    .option('--print-public-key', "print the webhook key's public half (for VIDEOSDK_WEBHOOK_PUBLIC_KEY) and exit; needs --webhook-key")
    .action(
      async (options: {
        port: string;
        host: string;
        secret?: string;
        apiKey?: string;
        webhookUrl?: string;
        webhookKey?: string;
        printPublicKey?: boolean;
      }) => {
        const simulator = await runSimulator(
          {
            port: Number(options.port),
            host: options.host,
            secret: options.secret ?? ctx.env.VIDEOSDK_SECRET,
            apiKey: options.apiKey ?? ctx.env.VIDEOSDK_API_KEY,
            webhookUrl: options.webhookUrl,
            webhookKey: options.webhookKey,
            printPublicKey: options.printPublicKey ?? false,
          },
          ctx.io,
        );
        if (!simulator) return;
        ctx.untilStopped(async () => {
          await simulator.close();
          return 0;
        });
      },
    );
}
