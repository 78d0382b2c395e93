import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPause, runResume } from '../../src/cli/commands/pause.js';
import type { JobView } from '../../src/removals/job-view.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { captureIo } from '../helpers/io.js';

/** Bull Board (`/admin/queues`) beside the operator's own pause, and the headers of its pages. */
const TOKEN = 'dashboard-test-token-0123456789';
let h: Harness;
beforeAll(async () => {
  h = await startHarness('dashboard', { AUTOMOD_API_TOKEN: TOKEN });
});
afterAll(async () => {
  await h?.close();
});

const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };
const now = () => new Date().toISOString();

interface BoardQueue {
  name: string;
  isPaused: boolean;
  description?: string;
}

async function boardQueue(name: string): Promise<BoardQueue> {
  const res = await h.api('GET', '/admin/queues/api/queues', undefined, basic);
  expect(res.status).toBe(200);
  return (res.body as { queues: BoardQueue[] }).queues.find((q) => q.name === name)!;
}

/** What Bull Board's buttons send: a PUT with no body. */
async function board(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${h.automod.url}/admin/queues/api/queues${path}`, { method: 'PUT', headers: basic });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

async function readyz(): Promise<{ status: number; reasons: string[] }> {
  const res = await h.api('GET', '/readyz');
  return { status: res.status, reasons: (res.body as { reasons: string[] }).reasons };
}

describe('Bull Board and the operator pause', () => {
  it('refuses to resume removals behind an operator pause, by the queue or by "resume all"; status, /readyz and the board agree', async () => {
    const removals = h.automod.services.queues.removals;
    await runPause(h.automod.services, { reason: 'incident 42', requestedBy: 'operator:test', at: now() }, captureIo());
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'held' }] });
    const posted = await h.api('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'held' }] }, bearer);
    const [jobId] = (posted.body as { jobs: string[] }).jobs as [string];

    const one = await board('/removals/resume');
    expect(one.status).toBe(409);
    expect(one.body).toEqual({
      error: expect.stringMatching(/^removals are paused by an operator since .+: incident 42; only automod resume resumes them$/),
      code: 'ERR_CONFLICT',
    });
    const all = await board('/resume');
    expect(all.status).toBe(409);
    expect(all.body).toMatchObject({ error: expect.stringMatching(/incident 42/), code: 'ERR_CONFLICT' });

    expect(await removals.isPaused()).toBe(true);
    expect(await readyz()).toEqual({ status: 503, reasons: ['removals paused (operator): incident 42'] });
    const shown = await boardQueue('removals');
    expect(shown.isPaused).toBe(true);
    expect(shown.description).toMatch(/paused by an operator since .+: incident 42/);
    expect(((await h.api('GET', `/v1/jobs/${jobId}`, undefined, bearer)).body as JobView).state).toBe('paused');

    // automod resume is the way out, and the removal that waited is carried out.
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, captureIo());
    const done = await waitFor(async () => {
      const view = (await h.api('GET', `/v1/jobs/${jobId}`, undefined, bearer)).body as JobView;
      return view.state === 'completed' ? view : undefined;
    });
    expect(done.outcome).toBe('removed');
    expect((await boardQueue('removals')).description).not.toMatch(/incident 42/);
  });

  it('refuses behind a credential pause too, and leaves a pause made on the board to the board', async () => {
    const removals = h.automod.services.queues.removals;
    await h.automod.services.pause.set({ reason: 'VideoSDK refused the credential (HTTP 401)', kind: 'credential', at: now() });
    await removals.pause();
    try {
      const refused = await board('/removals/resume');
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: expect.stringMatching(/after a credential failure .*HTTP 401/) });
      expect(await removals.isPaused()).toBe(true);
    } finally {
      await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, captureIo());
    }

    // No recorded pause: the board's own pause button and its resume are the board's business.
    expect((await board('/removals/pause')).status).toBe(200);
    expect(await removals.isPaused()).toBe(true);
    expect((await board('/removals/resume')).status).toBe(200);
    expect(await removals.isPaused()).toBe(false);
    expect((await board('/events/pause')).status).toBe(200);
    expect((await board('/resume')).status).toBe(200);
    expect(await h.automod.services.queues.events.isPaused()).toBe(false);
  });
});

describe('anti-framing headers', () => {
  it("are on every page, asset and answer of the worker: X-Frame-Options DENY and CSP frame-ancestors 'none'", async () => {
    const page = await fetch(`${h.automod.url}/admin/queues`, { headers: basic });
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => `/admin/queues/${m[1]}`);
    expect(assets.length).toBeGreaterThan(2);
    const urls: [string, Record<string, string>][] = [
      ['/admin/queues', basic],
      ['/admin/queues/queue/removals', basic],
      ...assets.map((url): [string, Record<string, string>] => [url, basic]),
      ['/admin/queues/api/queues', basic],
      ['/admin/queues', {}],
      ['/console', {}],
      ['/console/app.js', {}],
      ['/v1/audit', bearer],
      ['/v1/no-such-route', bearer],
      ['/healthz', {}],
      ['/readyz', {}],
    ];
    for (const [url, headers] of urls) {
      const res = await fetch(`${h.automod.url}${url}`, { headers });
      await res.arrayBuffer();
      expect(res.headers.get('x-frame-options'), url).toBe('DENY');
      expect(res.headers.get('content-security-policy'), url).toMatch(/(^|;\s*)frame-ancestors 'none'(;|$)/);
    }
    // The console keeps its own, stricter policy.
    const consolePage = await fetch(`${h.automod.url}/console`);
    expect(consolePage.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'/);
  });
});
