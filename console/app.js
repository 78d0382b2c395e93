// The moderation console: plain DOM, no framework. Everything that came from a meeting (names, chat
// text, ids) is put in the page as text (textContent / text nodes), never parsed as HTML.
const TOKEN_KEY = 'automod.token';
const POLL_MS = 3000;

const $ = (selector) => document.querySelector(selector);
let current = 'overview';
let timer;
let reviews = [];
let selected = 0;
/** The signed-in token as GET /v1/whoami names it: {name, role, allows: ["METHOD /route", ...]}. */
let me;

/** Whether the token's role may call a route (as the role table writes it): what it may not use is not offered. */
const may = (route) => me?.allows.includes(route) === true;

/** What the console can do for a role, said to the person signed in. */
const ABILITIES = [
  ['POST /v1/reviews/:id/approve', 'decide reviews'],
  ['DELETE /v1/bans/:meeting/:participantId', 'lift bans'],
  ['POST /v1/pause', 'pause and resume removals'],
  ['POST /v1/replay', 'replay failed removals'],
  ['POST /v1/rules/:name/rearm', 're-arm tripped rules'],
];

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat())
    if (child !== undefined && child !== null && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

/** A line in the status area, with a button that undoes what it reports when one is given. */
function say(message, action) {
  $('#status').replaceChildren(message, ...(action ? [' ', h('button', { type: 'button', onclick: action.run }, action.label)] : []));
}

/** Every time the console shows, as the audit and the CLI show it: ISO 8601 in UTC, to the second. */
function utc(t) {
  const date = new Date(t);
  return Number.isNaN(date.getTime()) ? String(t ?? '') : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The same, as a <time> element. */
function when(t) {
  const iso = utc(t);
  return h('time', { datetime: iso }, iso);
}

/** Event types in words: one, many. */
const EVENT_WORDS = {
  'chat-message': ['chat message', 'chat messages'],
  'participant-joined': ['join', 'joins'],
  'participant-left': ['leave', 'leaves'],
  'participant-renamed': ['rename', 'renames'],
};

/** Seconds as a person says them: 10 s, 5 min, 2 h. */
function span(seconds) {
  const n = Number(seconds);
  if (!Number.isFinite(n)) return `${seconds} s`;
  if (n >= 3600 && n % 3600 === 0) return `${n / 3600} h`;
  if (n >= 60 && n % 60 === 0) return `${n / 60} min`;
  return `${n} s`;
}

/**
 * A counter of the evidence in words: `participant:chat-message:10` = 5 is "5 chat messages from
 * this participant in 10 s"; `strikes:600` = 2 is "2 strikes in 10 min".
 */
function countText(key, n) {
  const parts = key.split(':');
  if (parts[0] === 'strikes' && parts.length === 2) return `${n} strike${n === 1 ? '' : 's'} in ${span(parts[1])}`;
  if (parts.length >= 3 && (parts[0] === 'participant' || parts[0] === 'session')) {
    const type = parts.slice(1, -1).join(':');
    const words = EVENT_WORDS[type] ?? [`"${type}" event`, `"${type}" events`];
    const what = words[n === 1 ? 0 : 1];
    return `${n} ${what} ${parts[0] === 'participant' ? 'from this participant' : 'in the session'} in ${span(parts.at(-1))}`;
  }
  return `${key} = ${n}`;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status === 401) {
    signOut('The token was refused: sign in again.');
    throw new Error('unauthorized');
  }
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  return { status: response.status, data };
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(timer);
  me = undefined;
  say('');
  $('#who').hidden = true;
  $('#nav').hidden = true;
  $('#banners').replaceChildren();
  for (const tab of document.querySelectorAll('.tab')) tab.hidden = true;
  $('#sign-in').hidden = false;
  $('#sign-in-error').textContent = message ?? '';
  $('#token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $('#token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#token').value = '';
  await showConsole();
}

/** Asks who the token is, then shows what its role may use (or says why the console is not for it). */
async function showConsole() {
  try {
    const { status, data } = await api('GET', '/v1/whoami');
    if (status !== 200) throw new Error(`status ${status}`);
    me = data;
  } catch (err) {
    if (err.message !== 'unauthorized') signOut('Could not sign in: the console could not be reached.');
    return;
  }
  if (!may('GET /v1/console/overview')) {
    signOut(`The token "${me.name}" has role ${me.role}, which cannot use the console: it needs moderator, operator or admin.`);
    return;
  }
  const abilities = ABILITIES.filter(([route]) => may(route)).map(([, what]) => what);
  $('#who').replaceChildren(
    'Signed in as ',
    h('strong', {}, me.name ?? 'anyone (this worker takes no token)'),
    ` (${me.role})`,
    abilities.length > 0 ? `: may ${abilities.join(', ')}` : ': may look',
  );
  $('#who').hidden = false;
  $('#sign-in').hidden = true;
  $('#nav').hidden = false;
  show(current);
}

function show(tab) {
  current = tab;
  for (const button of document.querySelectorAll('#nav [data-tab]')) {
    if (button.dataset.tab === tab) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  for (const section of document.querySelectorAll('.tab')) section.hidden = section.id !== `tab-${tab}`;
  void refresh();
}

async function refresh() {
  clearTimeout(timer);
  try {
    await loadLockdowns();
    if (current === 'overview') await loadOverview();
    if (current === 'reviews') await loadReviews();
    if (current === 'audit') await loadAudit();
    if (current === 'bans') await loadBans();
    if (current === 'rules') await loadRules();
  } catch (err) {
    if (err.message === 'unauthorized') return;
    say(`Could not load: ${err.message}`);
  }
  // Live: another moderator's decision shows within one poll.
  if (sessionStorage.getItem(TOKEN_KEY)) timer = setTimeout(refresh, POLL_MS);
}

async function loadOverview() {
  const { data } = await api('GET', '/v1/console/overview');
  const bans = await api('GET', '/v1/bans');
  const rows = [
    ['Events per second (last minute)', data.eventsPerSecond ?? 'event log off'],
    [
      'Removals in the last minute',
      Object.entries(data.removalsLastMinute)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || 'none',
    ],
    ['Pending reviews', data.pendingReviews],
    ['Active bans', bans.status === 200 ? bans.data.bans.length : 'not available'],
    ['Removals', data.paused ? `paused (${data.paused.kind}): ${data.paused.reason}` : 'running', data.paused ? 'bad' : ''],
    ['Removals waiting to retry', data.removalQueue.retrying, data.removalQueue.retrying > 0 ? 'bad' : ''],
    ['Failed removals (last hour)', data.removalQueue.failedLastHour, data.removalQueue.failedLastHour > 0 ? 'bad' : ''],
    ['Delayed / failed jobs kept', `${data.removalQueue.delayed} / ${data.removalQueue.failed}`],
    [
      'Tripped rules',
      data.tripped.length === 0 ? 'none' : data.tripped.map((t) => `${t.rule} (past ${t.budget}, until ${utc(t.until)})`).join(', '),
      data.tripped.length > 0 ? 'bad' : '',
    ],
    ['Rules version', data.rules?.version ?? 'not loaded here'],
    ['Rule problems', data.rules?.problems ? JSON.stringify(data.rules.problems) : 'none'],
  ];
  if (data.removalQueue.rateLimitedUntil) rows.push(['VideoSDK asked to wait until', utc(data.removalQueue.rateLimitedUntil), 'bad']);
  $('#overview').replaceChildren(
    ...rows.map(([k, v, mark]) => h('div', { class: mark || undefined }, h('dt', {}, k), h('dd', {}, String(v)))),
  );
  // The same sentences `automod status` lists: what holds removals, named.
  $('#overview-problems').replaceChildren(...data.removalQueue.problems.map((p) => h('li', {}, p)));
  $('#pending-badge').textContent = data.pendingReviews > 0 ? String(data.pendingReviews) : '';
  renderPauseControls(data.paused);
}

/** Pause or resume, for a role that may (the reason typed is kept across polls). */
function renderPauseControls(paused) {
  const box = $('#overview-actions');
  if (!may('POST /v1/pause') || !may('POST /v1/resume')) return box.replaceChildren();
  if (paused) {
    if (box.querySelector('#resume-removals')) return;
    box.replaceChildren(h('button', { type: 'button', id: 'resume-removals', onclick: resumeRemovals }, 'Resume removals'));
    return;
  }
  if (box.querySelector('#pause-form')) return;
  const reason = h('input', { name: 'reason', 'aria-label': 'Why pause', placeholder: 'why (shown on /readyz)', maxlength: 300 });
  box.replaceChildren(
    h(
      'form',
      { id: 'pause-form', class: 'filters', onsubmit: (event) => pauseRemovals(event, reason.value.trim()) },
      reason,
      h('button', { type: 'submit', id: 'pause-removals' }, 'Pause removals'),
    ),
  );
}

async function pauseRemovals(event, reason) {
  event.preventDefault();
  const { status, data } = await api('POST', '/v1/pause', reason ? { reason } : {});
  say(status === 200 ? `Removals paused: ${data.pause.reason}. ${data.waiting} waiting.` : `Not paused: ${data?.error ?? status}`);
  await loadOverview();
}

async function resumeRemovals() {
  const { status, data } = await api('POST', '/v1/resume');
  say(status === 200 ? `Removals resumed; ${data.waiting} were waiting.` : `Not resumed: ${data?.error ?? status}`);
  await loadOverview();
}

/** The text with each matched word or phrase in a <mark>, as text nodes only. */
function marked(text, terms) {
  if (!terms?.length) return [text];
  const lower = text.toLowerCase();
  const out = [];
  let i = 0;
  while (i < text.length) {
    let best;
    for (const term of terms) {
      const at = lower.indexOf(term.toLowerCase(), i);
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, len: term.length };
    }
    if (!best || best.len === 0) break;
    out.push(text.slice(i, best.at), h('mark', {}, text.slice(best.at, best.at + best.len)));
    i = best.at + best.len;
  }
  out.push(text.slice(i));
  return out;
}

async function loadReviews() {
  const { data } = await api('GET', '/v1/reviews?state=pending');
  const focusedId = reviews[selected]?.id;
  reviews = data.reviews;
  const keep = reviews.findIndex((r) => r.id === focusedId);
  selected = keep >= 0 ? keep : Math.min(selected, Math.max(0, reviews.length - 1));
  $('#pending-badge').textContent = reviews.length > 0 ? String(reviews.length) : '';
  if (reviews.length === 0) {
    $('#reviews').replaceChildren(h('li', {}, 'Nothing waits for a decision.'));
    return;
  }
  $('#reviews').replaceChildren(...reviews.map(renderReview));
}

function renderReview(item, index) {
  const who = item.participantName ?? item.participantId;
  const note = h('input', { type: 'text', 'aria-label': `Note for ${who}`, placeholder: 'note (optional)', maxlength: 500, class: 'note' });
  return h(
    'li',
    {
      'data-review': item.id,
      class: index === selected ? 'selected' : '',
      tabindex: 0,
      'aria-label': `Review of ${who}, rule ${item.rule}`,
    },
    h('h3', {}, who),
    h(
      'p',
      { class: 'meta' },
      `rule ${item.rule}: ${item.reason} · meeting ${item.meetingId ?? '-'} · session ${item.sessionId} · participant ${item.participantId} · ${item.hits} hit(s) · expires `,
      when(item.expiresAt),
    ),
    h(
      'ul',
      { class: 'evidence', 'aria-label': 'Evidence' },
      item.evidence.map((e) =>
        h(
          'li',
          {},
          when(e.at),
          ` ${e.type}: `,
          e.text !== undefined ? h('q', {}, ...marked(e.text, e.matched)) : '',
          // How the rules read the text, when look-alike letters or invisible characters disguised it.
          e.folded !== undefined ? h('span', { class: 'folded' }, ' read as ', h('q', {}, ...marked(e.folded, e.matched))) : '',
          e.counts
            ? h(
                'span',
                { class: 'meta' },
                ` (${Object.entries(e.counts)
                  .map(([k, v]) => countText(k, v))
                  .join(', ')})`,
              )
            : '',
        ),
      ),
    ),
    may('POST /v1/reviews/:id/approve') &&
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', class: 'approve', 'data-action': 'approve', onclick: () => decide(item, 'approve', note.value) },
          'Approve removal (a)',
        ),
        h(
          'button',
          { type: 'button', class: 'approve', 'data-action': 'ban', onclick: () => banOrArm(item, note.value) },
          armed === item.id ? `Confirm: remove and ban for ${banLabel()} (b)` : 'Approve with ban (b)',
        ),
        armed === item.id && h('button', { type: 'button', 'data-action': 'cancel', onclick: () => disarm() }, 'Cancel (Esc)'),
        h(
          'button',
          { type: 'button', class: 'dismiss', 'data-action': 'dismiss', onclick: () => decide(item, 'dismiss', note.value) },
          'Dismiss (d)',
        ),
        note,
      ),
  );
}

/** The review whose "approve with ban" waits for a second press: a ban is never one keystroke. */
let armed;

function banLabel() {
  const select = $('#ban-duration');
  return select.options[select.selectedIndex]?.textContent ?? select.value;
}

function banOrArm(item, note) {
  if (armed === item.id) {
    armed = undefined;
    return decide(item, 'ban', note);
  }
  armed = item.id;
  rerenderReviews();
  say(`Remove ${item.participantName ?? item.participantId} and ban them for ${banLabel()}? Press b again (or Confirm); Esc cancels.`);
}

function disarm() {
  if (armed === undefined) return;
  armed = undefined;
  rerenderReviews();
  say('Ban cancelled.');
}

function rerenderReviews() {
  if (reviews.length > 0) $('#reviews').replaceChildren(...reviews.map(renderReview));
}

async function liftBan(item) {
  const scope = item.meetingId ?? 'all';
  const { status } = await api('DELETE', `/v1/bans/${encodeURIComponent(scope)}/${encodeURIComponent(item.participantId)}`);
  const who = item.participantName ?? item.participantId;
  say(status === 204 ? `Ban of ${who} lifted (the removal stands).` : `Could not lift the ban of ${who} (${status}).`);
}

async function decide(item, action, note) {
  const body = {};
  if (note) body.note = note;
  if (action === 'ban') body.ban = $('#ban-duration').value;
  const path = `/v1/reviews/${encodeURIComponent(item.id)}/${action === 'dismiss' ? 'dismiss' : 'approve'}`;
  const { status, data } = await api('POST', path, body);
  const who = item.participantName ?? item.participantId;
  if (status === 200 && action === 'ban')
    say(
      `Approved: removal of ${who} queued (job ${data.removalJobId}), banned for ${body.ban}.`,
      may('DELETE /v1/bans/:meeting/:participantId') ? { label: 'Lift the ban', run: () => liftBan(item) } : undefined,
    );
  else if (status === 200)
    say(action === 'dismiss' ? `Dismissed the review of ${who}.` : `Approved: removal of ${who} queued (job ${data.removalJobId}).`);
  else if (status === 409) say(`Already decided: ${data.error}`);
  else say(`Not done: ${data?.error ?? status}`);
  await loadReviews();
}

function onKey(event) {
  if (current !== 'reviews' || event.target.matches('input, select, textarea') || event.ctrlKey || event.metaKey || event.altKey) return;
  const item = reviews[selected];
  if (event.key === 'Escape') return disarm();
  // Anything but a second b (on the same item) cancels an armed ban.
  if (armed !== undefined && !(event.key === 'b' && item?.id === armed)) disarm();
  if (event.key === 'j' || event.key === 'k') {
    selected = Math.max(0, Math.min(reviews.length - 1, selected + (event.key === 'j' ? 1 : -1)));
    for (const [i, li] of [...document.querySelectorAll('#reviews > li')].entries()) li.classList.toggle('selected', i === selected);
    document.querySelectorAll('#reviews > li')[selected]?.focus();
  } else if (item && may('POST /v1/reviews/:id/approve') && (event.key === 'a' || event.key === 'b' || event.key === 'd')) {
    const note = document.querySelectorAll('#reviews > li')[selected]?.querySelector('.note')?.value ?? '';
    if (event.key === 'b') void banOrArm(item, note);
    else void decide(item, event.key === 'a' ? 'approve' : 'dismiss', note);
  }
}

/** Outcomes that mean nobody was removed (or a removal could not be made). */
const FAILED_OUTCOMES = new Set(['failed', 'rejected', 'not-made', 'error']);

async function loadAudit(form = $('#audit-form')) {
  const actions = $('#audit-actions');
  if (!may('POST /v1/replay')) actions.replaceChildren();
  else if (!actions.querySelector('#replay-failed'))
    actions.replaceChildren(h('button', { type: 'button', id: 'replay-failed', onclick: replayFailed }, 'Replay failed removals'));
  const params = new URLSearchParams();
  const fields = new FormData(form);
  for (const name of ['kind', 'sessionId', 'participantId', 'rule', 'outcome', 'since']) {
    const value = String(fields.get(name) ?? '').trim();
    if (value) params.set(name, value);
  }
  params.set('limit', '200');
  const { status, data } = await api('GET', `/v1/audit?${params}`);
  if (status !== 200) return say(`Search refused: ${data.error}`);
  const meeting = String(fields.get('meetingId') ?? '').trim();
  const records = meeting ? data.records.filter((r) => r.meetingId === meeting) : data.records;
  $('#audit tbody').replaceChildren(
    ...records.map((r) => {
      // A removal that did not happen is what a moderator looks for first: marked, not just worded.
      const bad = FAILED_OUTCOMES.has(r.outcome);
      return h(
        'tr',
        { class: bad ? 'bad' : undefined },
        h('td', { class: 'nowrap' }, when(r.at)),
        ...[r.kind, r.outcome].map((v, i) =>
          h('td', { class: 'nowrap' }, i === 1 && bad ? h('strong', { class: 'error' }, `✗ ${v}`) : (v ?? '')),
        ),
        ...[r.rule, r.meetingId, r.sessionId, r.participantId, r.requestedBy].map((v) => h('td', { class: 'nowrap' }, v ?? '')),
        h('td', {}, r.reason ?? ''),
      );
    }),
  );
}

async function replayFailed() {
  const { status, data } = await api('POST', '/v1/replay', { state: 'failed' });
  say(
    status === 200
      ? `Replayed ${data.replayed.length} failed removal(s)${data.skipped.length ? `, skipped ${data.skipped.length}` : ''}.`
      : `Not replayed: ${data?.error ?? status}`,
  );
}

/** A banner per locked meeting, on every page, with the button that lifts it (for a role that may). */
async function loadLockdowns() {
  if (!may('GET /v1/lockdowns')) return $('#banners').replaceChildren();
  const { status, data } = await api('GET', '/v1/lockdowns');
  if (status !== 200) return $('#banners').replaceChildren();
  $('#banners').replaceChildren(
    ...data.lockdowns.map((l) =>
      h(
        'div',
        { class: 'banner', role: 'alert', 'data-lockdown': l.meetingId },
        h('strong', {}, `Meeting ${l.meetingId} is locked`),
        ` (${l.mode === 'ask' ? 'waiting room' : 'closed'}) since `,
        when(l.since),
        ' until ',
        when(l.until),
        ` · ${l.reason} · by ${l.rule ? `rule ${l.rule}` : l.by} `,
        may('DELETE /v1/lockdowns/:meetingId') &&
          h('button', { type: 'button', onclick: () => unlock(l.meetingId) }, `Lift the lockdown of ${l.meetingId}`),
      ),
    ),
  );
}

async function unlock(meetingId) {
  const { status } = await api('DELETE', `/v1/lockdowns/${encodeURIComponent(meetingId)}`);
  say(
    status === 204
      ? `Lockdown of ${meetingId} lifted.`
      : status === 404
        ? `${meetingId} was not locked any more.`
        : `Could not lift the lockdown (${status}).`,
  );
  await loadLockdowns();
}

async function loadBans() {
  const { status, data } = await api('GET', '/v1/bans');
  if (status === 404) return $('#bans').replaceChildren(h('p', {}, 'Bans are not available on this worker.'));
  if (status !== 200) return $('#bans').replaceChildren(h('p', { class: 'error' }, data?.error ?? `status ${status}`));
  if (data.bans.length === 0) return $('#bans').replaceChildren(h('p', {}, 'No active bans.'));
  $('#bans').replaceChildren(
    h(
      'ul',
      { class: 'items', 'aria-label': 'Active bans' },
      data.bans.map((ban) =>
        h(
          'li',
          {},
          h('h3', {}, ban.participantId),
          h(
            'p',
            { class: 'meta' },
            `${ban.scope === 'all' ? 'every meeting' : `meeting ${ban.meetingId}`} · ${timeLeft(ban.until)} · ${ban.reason} · by ${ban.by}`,
          ),
          may('DELETE /v1/bans/:meeting/:participantId') &&
            h('button', { type: 'button', onclick: () => unban(ban) }, `Unban ${ban.participantId}`),
        ),
      ),
    ),
  );
}

function timeLeft(until) {
  if (until === null) return 'permanent';
  const ms = Date.parse(until) - Date.now();
  if (ms <= 0) return 'ending';
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h left` : `${hours} h ${Math.floor((ms % 3_600_000) / 60_000)} min left`;
}

async function unban(ban) {
  const scope = ban.scope === 'all' ? 'all' : ban.meetingId;
  const { status } = await api('DELETE', `/v1/bans/${encodeURIComponent(scope)}/${encodeURIComponent(ban.participantId)}`);
  say(status === 204 ? `Unbanned ${ban.participantId}.` : `Unban failed (${status}).`);
  await loadBans();
}

async function loadRules() {
  await loadTripped();
  const { data } = await api('GET', '/v1/console/rules');
  $('#rules tbody').replaceChildren(
    ...data.rules.map((r) =>
      h(
        'tr',
        {},
        ...[r.name, r.mode, r.action, r.hitsLastHour, r.mode === 'shadow' ? r.wouldHaveLastHour : '-', r.reason].map((v) => h('td', {}, v)),
      ),
    ),
  );
}

/** Rules tripped past their budget, with a re-arm button each, for a role that may see and re-arm them. */
async function loadTripped() {
  if (!may('GET /v1/rules/tripped')) return $('#tripped').replaceChildren();
  const { status, data } = await api('GET', '/v1/rules/tripped');
  if (status !== 200) return $('#tripped').replaceChildren(h('p', { class: 'error' }, data?.error ?? `status ${status}`));
  $('#tripped').replaceChildren(
    h('h3', {}, 'Tripped rules'),
    data.tripped.length === 0
      ? h('p', {}, 'No rule is tripped.')
      : h(
          'ul',
          { class: 'items', 'aria-label': 'Tripped rules' },
          data.tripped.map((t) =>
            h(
              'li',
              {},
              h('h3', {}, t.rule),
              h('p', { class: 'meta' }, `tripped at ${utc(t.at)} · budget ${t.budget} · until ${utc(t.until)}`),
              may('POST /v1/rules/:name/rearm') &&
                h('button', { type: 'button', 'data-action': 'rearm', onclick: () => rearm(t.rule) }, `Re-arm ${t.rule}`),
            ),
          ),
        ),
  );
}

async function rearm(rule) {
  const { status, data } = await api('POST', `/v1/rules/${encodeURIComponent(rule)}/rearm`);
  say(status === 200 ? (data.rearmed ? `Re-armed ${rule}.` : `${rule} was not tripped.`) : `Not re-armed: ${data?.error ?? status}`);
  await loadTripped();
}

document.addEventListener('DOMContentLoaded', () => {
  $('#sign-in-form').addEventListener('submit', signIn);
  $('#sign-out').addEventListener('click', () => signOut('Signed out.'));
  for (const button of document.querySelectorAll('#nav [data-tab]')) button.addEventListener('click', () => show(button.dataset.tab));
  $('#audit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void loadAudit(event.target);
  });
  document.addEventListener('keydown', onKey);
  if (sessionStorage.getItem(TOKEN_KEY)) void showConsole();
  else $('#token').focus();
});
