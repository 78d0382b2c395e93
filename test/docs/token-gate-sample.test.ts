import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { freePort, ROOT } from '../helpers/processes.js';
import { tokensFixture, type TokensFixture } from '../helpers/tokens.js';

/**
 * The token server's gate shown in docs/bans.md, run as written: it allows a join only on a 200
 * whose `banned` is false, and refuses on a ban and on every answer that is not a verdict (a
 * worker whose Redis is down answers 503 without `banned`).
 */
type Verdict = { allowed: true } | { allowed: false; status: number; error: string; reason?: string };
type MayJoin = (meetingId: string, participantId: string) => Promise<Verdict>;

async function sampleFromDocs(): Promise<string> {
  const page = await readFile(join(ROOT, 'docs', 'bans.md'), 'utf8');
  const marker = page.indexOf('<!-- test/docs/token-gate-sample.test.ts runs the next block -->');
  if (marker < 0) throw new Error('docs/bans.md has lost the token gate sample marker');
  const block = /```js\n([\s\S]*?)\n```/.exec(page.slice(marker));
  if (!block) throw new Error('no js block after the token gate sample marker');
  return block[1]!;
}

/** A stand-in for what can answer the gate's URL: a proxy, a worker in trouble, a wrong service. */
async function answering(status: number, body: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    if (status === 0) return; // never answers
    res.writeHead(status, { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let harness: Harness;
let tokens: TokensFixture;
let dir: string;
let mayJoin: MayJoin;
const token = randomBytes(16).toString('hex');
const servers: Server[] = [];

beforeAll(async () => {
  // The token server holds a gate token; the test makes bans with the admin token.
  tokens = await tokensFixture({ 'token-server': 'gate', 'app-backend': 'ingest' });
  harness = await startHarness('token-gate', { AUTOMOD_API_TOKEN: token, AUTOMOD_TOKENS_FILE: tokens.path });
  dir = await mkdtemp(join(tmpdir(), 'automod-gate-'));
  await writeFile(join(dir, 'gate.mjs'), await sampleFromDocs());
  ({ mayJoin } = (await import(pathToFileURL(join(dir, 'gate.mjs')).href)) as { mayJoin: MayJoin });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await harness?.close();
  await tokens?.cleanup();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function gateAt(url: string, gateToken = tokens.tokens['token-server']!): void {
  process.env.AUTOMOD_URL = url;
  process.env.AUTOMOD_GATE_TOKEN = gateToken;
}

describe('the token server sample of docs/bans.md', () => {
  it('allows on {"banned": false} and refuses a banned participant with 403', async () => {
    gateAt(harness.automod.url!);
    expect(await mayJoin('room-g', 'guest')).toEqual({ allowed: true });
    const ban = await harness.api(
      'POST',
      '/v1/bans',
      { participantId: 'troll', meetingId: 'room-g', for: '1h', reason: 'raid' },
      { authorization: `Bearer ${token}` },
    );
    expect(ban.status).toBe(201);
    expect(await mayJoin('room-g', 'troll')).toMatchObject({ allowed: false, status: 403, error: /^banned until /, reason: 'raid' });
  });

  it('refuses when the answer is not a verdict: 503 (Redis down), 401, a 200 without banned, HTML, no answer, nobody there', async () => {
    const cases: [string, number, string][] = [
      ['a worker whose Redis is down', 503, '{"error":"Redis is unreachable; try again shortly","code":"ERR_REDIS_UNREACHABLE"}'],
      ['a 200 that is not the gate', 200, '{"status":"ok"}'],
      ['a 200 with banned as a string', 200, '{"banned":"false"}'],
      ["a proxy's error page", 200, '<html><body>Bad gateway</body></html>'],
      ['a redirect', 302, '{}'],
    ];
    for (const [what, status, body] of cases) {
      const stub = await answering(status, body);
      servers.push(stub.server);
      gateAt(stub.url);
      expect(await mayJoin('room-g', 'guest'), what).toMatchObject({ allowed: false, status: 503 });
    }
    gateAt(harness.automod.url!, 'not-the-token');
    expect(await mayJoin('room-g', 'guest'), 'a wrong token (401)').toMatchObject({ allowed: false, status: 503 });
    gateAt(harness.automod.url!, tokens.tokens['app-backend']);
    expect(await mayJoin('room-g', 'guest'), 'a token without the gate role (403)').toMatchObject({ allowed: false, status: 503 });
    gateAt(`http://127.0.0.1:${await freePort()}`);
    expect(await mayJoin('room-g', 'guest'), 'nothing listening').toMatchObject({ allowed: false, status: 503 });
    const silent = await answering(0, '');
    servers.push(silent.server);
    gateAt(silent.url);
    expect(await mayJoin('room-g', 'guest'), 'no answer').toMatchObject({ allowed: false, status: 503 });
  });
});
