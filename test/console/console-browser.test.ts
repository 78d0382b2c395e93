import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planBrowser } from '../helpers/test-tools.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { tokensFixture, type TokensFixture } from '../helpers/tokens.js';

// The page functions below run in the browser; the project compiles without the DOM library, so
// the little of it they use is declared here.
interface PageElement {
  textContent: string | null;
  hidden: boolean;
  click(): void;
  querySelectorAll(selector: string): PageElement[];
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageElement[];
};
declare const sessionStorage: { getItem(key: string): string | null };

/** Debian's chromium (.ci/run installs it and makes it required); puppeteer-core downloads nothing. */
const BROWSER = planBrowser('test/console/console-browser.test.ts');
const RULES = fileURLToPath(new URL('../fixtures/review-rules', import.meta.url));
/** Screenshots of each page, kept as CI artifacts (docs/console.md names them). */
const SHOTS = fileURLToPath(new URL('../../test-results/console/', import.meta.url));
const TOKEN = 'console-test-token-0123456789';
const XSS = '<img src=x onerror=alert(1)>';

describe('moderation console in a real browser', () => {
  let h: Harness;
  let tokens: TokensFixture;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const sid = sessionId();

  beforeAll(async () => {
    if ('fail' in BROWSER) throw new Error(BROWSER.fail);
    if ('skip' in BROWSER) {
      // One line that says what did not run and how to run it (npm test on a machine without a browser).
      console.warn(BROWSER.skip);
      return;
    }
    await mkdir(SHOTS, { recursive: true });
    tokens = await tokensFixture({ alice: 'moderator', oncall: 'operator', 'token-server': 'gate' });
    h = await startHarness('console', { AUTOMOD_RULES: RULES, AUTOMOD_API_TOKEN: TOKEN, AUTOMOD_TOKENS_FILE: tokens.path });
    h.simulator.addSession({
      id: sid,
      meetingId: 'room-console',
      participants: [
        { participantId: 'p-xss', name: XSS },
        { participantId: 'p-dave', name: 'Dave' },
      ],
    });
    const chat = (id: string, participantId: string, participantName: string, text: string) => ({
      id: `${sid}-${id}`,
      type: 'chat-message',
      meetingId: 'room-console',
      sessionId: sid,
      participantId,
      participantName,
      data: { text },
    });
    const posted = await h.api(
      'POST',
      '/v1/events',
      [chat('1', 'p-xss', XSS, 'Get FREE MONEY now, no scam <b>promise</b>'), chat('2', 'p-dave', 'Dave', 'is this a scаm?')],
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(posted.status).toBe(202);
    browser = await puppeteer.launch({
      executablePath: BROWSER.found.browser,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }, 60_000);

  beforeEach((ctx) => {
    if ('skip' in BROWSER) ctx.skip(BROWSER.skip);
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await tokens?.cleanup();
  });

  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

  it('refuses a wrong token and keeps the sign-in form', async () => {
    await page.goto(`${h.automod.url}/console`);
    await page.waitForSelector('#sign-in-form');
    // Nothing to navigate to before signing in: the nav and "Sign out" are not shown.
    expect(await (await page.$('#nav'))!.isVisible()).toBe(false);
    expect(await (await page.$('#sign-out'))!.isVisible()).toBe(false);
    await shot('sign-in');
    await page.type('#token', 'not-the-token-at-all');
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForFunction(() => /refused/.test(document.querySelector('#sign-in-error')?.textContent ?? ''));
    expect(await page.$eval('#sign-in', (el) => (el as unknown as PageElement).hidden)).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('automod.token'))).toBeNull();
  });

  it("refuses a token whose role is not for the console (a token server's gate token)", async () => {
    await page.type('#token', tokens.tokens['token-server']!);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForFunction(() => /cannot use the console/.test(document.querySelector('#sign-in-error')?.textContent ?? ''));
    expect(await page.$eval('#sign-in-error', (el) => el.textContent)).toBe(
      'The token "token-server" has role gate, which cannot use the console: it needs moderator, operator or admin.',
    );
    expect(await page.evaluate(() => sessionStorage.getItem('automod.token'))).toBeNull();
  });

  it('signs in as a moderator, says who is signed in, and keeps the token out of the URL', async () => {
    // The token names the actor: there is no name to type.
    expect(await page.$('#moderator')).toBeNull();
    await page.type('#token', tokens.tokens.alice!);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#overview dt').length > 0);
    expect(page.url()).not.toContain(tokens.tokens.alice);
    expect(await page.$eval('#who', (el) => el.textContent)).toBe('Signed in as alice (moderator): may decide reviews, lift bans');
    expect(await page.$eval('#overview', (el) => el.textContent)).toMatch(/Pending reviews\s*2/);
    expect(await page.$eval('#overview', (el) => el.textContent)).toMatch(/Active bans\s*0/);
    expect(await page.$eval('#overview', (el) => el.textContent)).toMatch(/Removals waiting to retry\s*0/);
    expect(await page.$eval('#overview', (el) => el.textContent)).toMatch(/Failed removals \(last hour\)\s*0/);
    expect(await page.$eval('#overview', (el) => el.textContent)).toMatch(/Tripped rules\s*none/);
    expect(await (await page.$('#nav'))!.isVisible()).toBe(true);
    // No operator's buttons: pause, resume, replay, re-arm.
    expect(await page.$$('#pause-removals, #resume-removals, #replay-failed, [data-action=rearm]')).toHaveLength(0);
    await shot('overview');
  });

  it('shows the pending items with the matched words marked, and an attacker-chosen name as text', async () => {
    await page.click('#nav [data-tab=reviews]');
    await page.waitForFunction(() => document.querySelectorAll('#reviews > li[data-review]').length === 2);
    const names = await page.$$eval('#reviews > li h3', (els) => els.map((el) => el.textContent));
    expect(names).toContain(XSS);
    // Shown as text: no <img> (nor <b>) was made from the name or the chat text.
    expect(await page.$$('#reviews img, #reviews b')).toHaveLength(0);
    const marks = await page.$$eval('#reviews mark', (els) => els.map((el) => el.textContent));
    expect(marks).toEqual(expect.arrayContaining(['FREE MONEY', 'scam']));
    // Dave's "scаm" holds a Cyrillic а: the item shows how the rules read it, the word marked there.
    const folded = await page.$$eval('#reviews .folded', (els) => els.map((el) => el.textContent));
    expect(folded).toEqual([' read as is this a scam?']);
    expect(await page.$$eval('#reviews .folded mark', (els) => els.map((el) => el.textContent))).toEqual(['scam']);
    // Times as the audit shows them (ISO, UTC), counters in words, not as keys.
    const evidence = await page.$$eval('#reviews .evidence > li', (els) => els.map((el) => el.textContent ?? ''));
    for (const line of evidence) {
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ chat-message: /);
      expect(line).toContain('(1 chat message from this participant in 10 s)');
      expect(line).not.toContain('participant:chat-message:10');
    }
    await shot('reviews');
  });

  it('approves with one click and the removal reaches the simulator', async () => {
    const item = await page.$('#reviews > li[aria-label*="img src"]');
    await item!.$eval('button[data-action=approve]', (b) => (b as unknown as PageElement).click());
    await page.waitForFunction(() => /Approved: removal of/.test(document.querySelector('#status')?.textContent ?? ''));
    await waitFor(() =>
      h.simulator.calls().some((c) => c.operation === 'remove' && c.sessionId === sid && c.participantId === 'p-xss' && c.applied)
        ? true
        : undefined,
    );
    const audit = await h.api('GET', `/v1/audit?sessionId=${sid}&kind=review`, undefined, { authorization: `Bearer ${TOKEN}` });
    expect((audit.body as { records: { requestedBy: string }[] }).records[0]?.requestedBy).toBe('token:alice');
  });

  it('asks before a keyboard ban: b once arms it, Esc cancels, nothing is banned', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#reviews > li[data-review]').length === 1);
    await page.focus('#reviews > li[data-review]');
    await page.keyboard.press('b');
    await page.waitForFunction(() => /Press b again/.test(document.querySelector('#status')?.textContent ?? ''));
    expect(await page.$eval('#reviews button[data-action=ban]', (el) => el.textContent)).toMatch(/^Confirm: remove and ban for 24 hours/);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => /Ban cancelled/.test(document.querySelector('#status')?.textContent ?? ''));
    const bans = await h.api('GET', '/v1/bans', undefined, { authorization: `Bearer ${TOKEN}` });
    expect((bans.body as { bans: unknown[] }).bans).toEqual([]);
    const pending = await h.api('GET', '/v1/reviews?state=pending', undefined, { authorization: `Bearer ${TOKEN}` });
    expect((pending.body as { reviews: unknown[] }).reviews).toHaveLength(1);
  });

  it('dismisses another with the keyboard', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#reviews > li[data-review]').length === 1);
    await page.focus('#reviews > li[data-review]');
    await page.keyboard.press('d');
    await page.waitForFunction(() => /Dismissed the review of Dave/.test(document.querySelector('#status')?.textContent ?? ''));
    const dismissed = await h.api('GET', '/v1/reviews?state=dismissed', undefined, { authorization: `Bearer ${TOKEN}` });
    expect((dismissed.body as { reviews: { participantId: string }[] }).reviews.map((r) => r.participantId)).toEqual(['p-dave']);
  });

  it('updates live when another moderator decides', async () => {
    await h.api(
      'POST',
      '/v1/events',
      [{ id: `${sid}-3`, type: 'chat-message', sessionId: sid, participantId: 'p-eve', participantName: 'Eve', data: { text: 'scam' } }],
      { authorization: `Bearer ${TOKEN}` },
    );
    await page.waitForFunction(() => [...document.querySelectorAll('#reviews > li h3')].some((el) => el.textContent === 'Eve'), {
      timeout: 10_000,
    });
    const pending = await h.api('GET', '/v1/reviews?state=pending', undefined, { authorization: `Bearer ${TOKEN}` });
    const eve = (pending.body as { reviews: { id: string; participantId: string }[] }).reviews.find((r) => r.participantId === 'p-eve')!;
    await h.api('POST', `/v1/reviews/${eve.id}/dismiss`, {}, { authorization: `Bearer ${TOKEN}` });
    await page.waitForFunction(() => document.querySelectorAll('#reviews > li[data-review]').length === 0, { timeout: 10_000 });
  });

  it('bans only on the second press, and offers to lift the ban it made', async () => {
    await h.api(
      'POST',
      '/v1/events',
      [
        {
          id: `${sid}-4`,
          type: 'chat-message',
          meetingId: 'room-console',
          sessionId: sid,
          participantId: 'p-frank',
          participantName: 'Frank',
          data: { text: 'scam' },
        },
      ],
      { authorization: `Bearer ${TOKEN}` },
    );
    await page.waitForFunction(() => [...document.querySelectorAll('#reviews > li h3')].some((el) => el.textContent === 'Frank'), {
      timeout: 10_000,
    });
    await page.focus('#reviews > li[data-review]');
    await page.keyboard.press('b');
    await page.waitForFunction(() => /Press b again/.test(document.querySelector('#status')?.textContent ?? ''));
    await page.keyboard.press('b');
    await page.waitForFunction(() => /banned for 24h/.test(document.querySelector('#status')?.textContent ?? ''));
    const banned = await h.api('GET', '/v1/bans/check?meetingId=room-console&participantId=p-frank', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(banned.body).toMatchObject({ banned: true });
    await page.click('#status button');
    await page.waitForFunction(() => /Ban of Frank lifted/.test(document.querySelector('#status')?.textContent ?? ''));
    const lifted = await h.api('GET', '/v1/bans/check?meetingId=room-console&participantId=p-frank', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(lifted.body).toEqual({ banned: false });
  });

  it('shows a locked meeting on every page with a button that lifts it', async () => {
    const locked = await h.api(
      'POST',
      '/v1/lockdowns',
      { meetingId: 'room-console', for: '10m', reason: 'raid' },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(locked.status).toBe(201);
    await page.waitForFunction(() => /Meeting room-console is locked/.test(document.querySelector('#banners')?.textContent ?? ''), {
      timeout: 10_000,
    });
    expect(await page.$eval('#banners', (el) => el.textContent)).toMatch(/\(closed\) since \S+Z until \S+Z · raid/);
    await shot('lockdown');
    await page.click('#banners [data-lockdown=room-console] button');
    await page.waitForFunction(() => /Lockdown of room-console lifted/.test(document.querySelector('#status')?.textContent ?? ''));
    expect(
      ((await h.api('GET', '/v1/lockdowns', undefined, { authorization: `Bearer ${TOKEN}` })).body as { lockdowns: unknown[] }).lockdowns,
    ).toEqual([]);
    expect(await page.$eval('#banners', (el) => el.textContent)).toBe('');
  });

  it('counts failed removals and tripped rules on the overview, and marks failures in the audit', async () => {
    // A removal of someone in no session is rejected; a direct producer's single-try job meets a 500.
    const ghost = await h.api(
      'POST',
      '/v1/removals',
      { removals: [{ sessionId: 'no-such-session', participantId: 'p-ghost' }] },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(ghost.status).toBe(202);
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 500, times: 5 });
    const doomed = await h.automod.services.queues.removals.add(
      'remove',
      { sessionId: sid, participantId: 'p-dave', meetingId: 'room-console', reason: 'test', requestedBy: 'test' },
      { attempts: 1 },
    );
    await waitFor(async () => ((await h.automod.services.outcomes.getOutcome(doomed.id!))?.outcome === 'failed' ? true : undefined));
    const budget = { max: 1, windowMs: 60_000 };
    await h.automod.services.budgets.take({ rule: 'doubtful-language', budget, member: 'x' });
    await h.automod.services.budgets.take({ rule: 'doubtful-language', budget, member: 'y' });

    await page.click('#nav [data-tab=overview]');
    await page.waitForFunction(() => /Failed removals \(last hour\)\s*1/.test(document.querySelector('#overview')?.textContent ?? ''), {
      timeout: 10_000,
    });
    expect(await page.$eval('#overview', (el) => el.textContent)).toMatch(/Tripped rules\s*doubtful-language \(past 1\/60s, until \S+Z\)/);
    const problems = await page.$$eval('#overview-problems li', (els) => els.map((el) => el.textContent ?? ''));
    expect(problems).toContainEqual(expect.stringMatching(/^1 removal\(s\) failed in the last hour; last: POST remove 500/));
    expect(problems).toContainEqual(expect.stringMatching(/^rule doubtful-language tripped/));
    await shot('overview-trouble');

    await page.click('#nav [data-tab=audit]');
    await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr.bad').length >= 2, { timeout: 10_000 });
    const bad = await page.$$eval('#audit tbody tr.bad', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(bad).toContainEqual(expect.stringMatching(/✗ rejected.*p-ghost/));
    expect(bad).toContainEqual(expect.stringMatching(/✗ failed.*p-dave/));
    expect(await page.$$eval('#audit tbody td time', (els) => els.map((el) => el.textContent))).toContainEqual(
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    );
    await shot('audit-failures');
    h.simulator.clearFaults();
    await h.automod.services.budgets.rearm('doubtful-language');
    // Left as they were found: the operator's replay below finds no failed removal.
    for (const id of [doomed.id!, ...(ghost.body as { jobs: string[] }).jobs]) await h.automod.services.queues.removals.remove(id);
  });

  it('searches removals and audit, lists rules, lists a ban with its time left and lifts it', async () => {
    await page.click('#nav [data-tab=audit]');
    await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length > 0, { timeout: 10_000 });
    expect(await page.$eval('#audit tbody', (el) => el.textContent)).toContain('removed');
    await page.type('#audit-form input[name=participantId]', 'p-xss');
    await page.click('#audit-form button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#audit tbody tr')].every((tr) => tr.textContent?.includes('p-xss')));
    expect(await page.$eval('#audit tbody', (el) => el.textContent)).toContain('token:alice');
    expect(await page.$$('#replay-failed')).toHaveLength(0);
    await shot('audit');

    await page.click('#nav [data-tab=rules]');
    await page.waitForFunction(() => document.querySelectorAll('#rules tbody tr').length === 2);
    const rules = await page.$$eval('#rules tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rules).toContainEqual(['doubtful-language', 'enforce', 'review', '4', '-', 'Possible scam']);
    expect(await page.$eval('#tripped', (el) => el.textContent)).toBe('');
    await shot('rules');

    const made = await h.api(
      'POST',
      '/v1/bans',
      { participantId: 'p-banned', meetingId: 'room-console', for: '2h', reason: 'raid bot' },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(made.status).toBe(201);
    await page.click('#nav [data-tab=bans]');
    await page.waitForFunction(() => /p-banned/.test(document.querySelector('#bans')?.textContent ?? ''));
    expect(await page.$eval('#bans', (el) => el.textContent)).toMatch(/meeting room-console · 1 h 5\d min left · raid bot · by token:api/);
    await shot('bans');
    await page.click('#bans button');
    await page.waitForFunction(() => /No active bans/.test(document.querySelector('#bans')?.textContent ?? ''), { timeout: 10_000 });
    expect(
      (await h.api('GET', '/v1/bans/check?meetingId=room-console&participantId=p-banned', undefined, { authorization: `Bearer ${TOKEN}` }))
        .body,
    ).toEqual({ banned: false });
    // Readable on a phone too.
    await page.setViewport({ width: 390, height: 844 });
    await page.click('#nav [data-tab=reviews]');
    await shot('reviews-phone');
    expect(dialogs).toEqual([]);
  });

  it('signs in as an operator: pause and resume, replay and re-arm are offered, and recorded as token:oncall', async () => {
    await page.setViewport({ width: 1280, height: 900 });
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in-form', { visible: true });
    await page.type('#token', tokens.tokens.oncall!);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForFunction(() => /Signed in as oncall/.test(document.querySelector('#who')?.textContent ?? ''));
    expect(await page.$eval('#who', (el) => el.textContent)).toBe(
      'Signed in as oncall (operator): may decide reviews, lift bans, pause and resume removals, replay failed removals, re-arm tripped rules',
    );
    await page.click('#nav [data-tab=overview]');
    await page.waitForSelector('#pause-removals');
    await shot('overview-operator');
    await page.type('#pause-form input[name=reason]', 'incident 7');
    await page.click('#pause-removals');
    await page.waitForFunction(() => /Removals paused: incident 7/.test(document.querySelector('#status')?.textContent ?? ''));
    await page.waitForSelector('#resume-removals');
    const pauses = await h.api('GET', '/v1/audit?kind=pause', undefined, { authorization: `Bearer ${TOKEN}` });
    expect((pauses.body as { records: { reason: string; requestedBy: string }[] }).records).toEqual([
      expect.objectContaining({ reason: 'incident 7', requestedBy: 'token:oncall' }),
    ]);
    await page.click('#resume-removals');
    await page.waitForFunction(() => /Removals resumed/.test(document.querySelector('#status')?.textContent ?? ''));
    expect(await h.automod.services.queues.removals.isPaused()).toBe(false);

    await page.click('#nav [data-tab=audit]');
    await page.waitForSelector('#replay-failed');
    await page.click('#replay-failed');
    await page.waitForFunction(() => /Replayed 0 failed removal\(s\)/.test(document.querySelector('#status')?.textContent ?? ''));
    await page.click('#nav [data-tab=rules]');
    await page.waitForFunction(() => /No rule is tripped/.test(document.querySelector('#tripped')?.textContent ?? ''));
    expect(dialogs).toEqual([]);
  });
});
