import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `automod simulator`: the bundled VideoSDK simulator on a port, until SIGTERM or SIGINT. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('simulator')
    .description('run the bundled VideoSDK simulator')
    .option('--port <port>', 'port', '9090')
    .option('--host <host>', 'host', '127.0.0.1')
    .option('--secret <secret>', 'verify JWTs with this secret (default: VIDEOSDK_SECRET, else no auth)')
    .option('--api-key <key>', 'expected apikey claim (default: VIDEOSDK_API_KEY)')
    .action(async (options: { port: string; host: string; secret?: string; apiKey?: string }) => {
      const secret = options.secret ?? ctx.env.VIDEOSDK_SECRET;
      const apiKey = options.apiKey ?? ctx.env.VIDEOSDK_API_KEY;
      const { createSimulator } = await import('../../simulator/simulator.js');
      const simulator = createSimulator({ ...(secret ? { secret } : {}), ...(apiKey ? { apiKey } : {}) });
      const url = await simulator.listen(Number(options.port), options.host);
      ctx.io.stdout.write(`VideoSDK simulator listening on ${url} (control API under ${url}/_sim/)\n`);
      ctx.untilStopped(async () => {
        await simulator.close();
        return 0;
      });
    });
}
