import { partitionOf, partitionPrefix } from '../shared/partitions.js';
// `%` is escaped too, so an id that already spells an escape (`a%3Ab`) stays apart from `a:b`.
const ESCAPES: Record<string, string> = { '%': '%25', ':': '%3A', '{': '%7B', '}': '%7D' };
const UNESCAPES: Record<string, string> = Object.fromEntries(Object.entries(ESCAPES).map(([c, e]) => [e, c]));

/**
 * One part of a key, made unambiguous: parts are joined with `:`, so a `:` inside an id would let
 * `team` + `a:b` and `team:a` + `b` share a key. Only `%`, `:`, `{` and `}` are escaped (braces so
 * no id can form a Redis Cluster hash tag), so every id without them keeps the key it always had.
 */
export function encodeKeyPart(part: string): string {
  // Nearly every id has none of them: testing first spares building a copy (the events hot path
  // builds several keys per event).
  return NEEDS_ESCAPE.test(part) ? part.replace(/[%:{}]/g, (c) => ESCAPES[c]!) : part;
}
const NEEDS_ESCAPE = /[%:{}]/;

/** The inverse of `encodeKeyPart`, for an id read back out of a key. */
export function decodeKeyPart(part: string): string {
  return part.replace(/%(?:25|3A|7B|7D)/g, (e) => UNESCAPES[e]!);
}

/**
 * Builds a key from the prefix and its parts; the one place that knows the key layout. The prefix
 * goes in as it is (validated config that carries the hash tag); every part is encoded.
 */
export function buildKey(keyPrefix: string, parts: readonly string[]): string {
  let key = keyPrefix;
  for (const part of parts) key += `:${encodeKeyPart(part)}`;
  return key;
}

/**
 * Every Redis key the worker writes, in one place. All keys start with the hash-tagged prefix
 * (`{automod}`) so they hash to one Redis Cluster slot, together with BullMQ's queues, which lets
 * scripts and MULTI touch several of them at once. Every id in a key goes through `buildKey`.
 */
export function createKeys(keyPrefix: string, partitions = 1) {
  const own = keysOf(keyPrefix);
  if (partitions === 1) {
    const parts = [own];
    return Object.assign(own, { partitions, part: (_sessionId: string) => own, partition: (_k: number) => own, all: () => parts });
  }
  // Partition keys ({BASE:pK}) hold a session's counters, strikes and event markers; the rest stays global.
  const base = keyPrefix.replace(/^\{(.*)\}$/, '$1');
  const parts = Array.from({ length: partitions }, (_, i) => keysOf(partitionPrefix(base, i, partitions)));
  return Object.assign(own, {
    partitions,
    /** The keys of the session's partition (counters, strikes, event markers, presence). */
    part: (sessionId: string) => parts[partitionOf(sessionId, partitions)]!,
    partition: (k: number) => parts[k]!,
    all: () => parts,
  });
}

function keysOf(keyPrefix: string) {
  const k = (...parts: string[]) => buildKey(keyPrefix, parts);
  return {
    prefix: keyPrefix,
    /** Event ids seen at intake (dedup window). */
    eventSeen: (id: string) => k('event-seen', id),
    /** Event ids already processed by a consumer (dedup for direct producers and redelivery). */
    eventDone: (id: string) => k('event-done', id),
    /**
     * Sliding-window counter of events: a sorted set of event ids by time. The subject is the
     * session, or the meeting (`meetingId ?? sessionId`) and the participant.
     */
    eventCounter: (scope: 'participant' | 'session', type: string, ...subject: string[]) => k('count', scope, type, ...subject),
    /**
     * Webhook presence of one participant in one session (hash: joins and lefts seen, and which
     * webhooks were counted), so a real leave and rejoin gets a new event id and a redelivery not.
     */
    presence: (sessionId: string, participantId: string) => k('presence', sessionId, participantId),
    /** Enforced rule hits of one participant in one meeting: a sorted set by time. */
    strikes: (meeting: string, participantId: string) => k('strikes', meeting, participantId),
    /** Hits of one counted rule (`ruleHits`) for one participant in one meeting: event ids by time. */
    ruleHits: (meeting: string, participantId: string, rule: string) => k('rule-hits', meeting, participantId, rule),
    /** The removal claim of one participant in one session (collapse of repeated requests). */
    removalClaim: (sessionId: string, participantId: string) => k('removal', sessionId, participantId),
    /** Fence held while a removal POST is in flight, so two runs of one job never both send. */
    removalFence: (sessionId: string, participantId: string) => k('removal-fence', sessionId, participantId),
    /** Outcome and API attempts of one removal job. */
    jobOutcome: (jobId: string) => k('job', jobId, 'outcome'),
    jobAttempts: (jobId: string) => k('job', jobId, 'attempts'),
    /** Set once a remove call was recorded for the job; outlives the capped attempts list. */
    jobRemoveSent: (jobId: string) => k('job', jobId, 'remove-sent'),
    /** Job ids with recorded outcome or attempts, by last write (ms): caps how many are kept. */
    jobIndex: () => k('job-index'),
    /** Live workers: hash of worker id to its latest announcement (JSON with `seenAt`). */
    workers: () => k('workers'),
    /** Set while a lockdown keeps a session it ended through VideoSDK (its late joins need no removal). */
    sessionEnded: (sessionId: string) => k('session-ended', sessionId),
    /** Last session object recorded for a session, and its removals. */
    session: (sessionId: string) => k('session', sessionId),
    sessionRemovals: (sessionId: string) => k('session', sessionId, 'removals'),
    /** Audit trail (a capped stream; entry ids are the record time). */
    audit: () => k('audit'),
    /** Processed-event log for backtests (a stream trimmed by age). */
    eventLog: () => k('event-log'),
    /** Invalid jobs taken from the events queue, with the reason. */
    deadLetter: () => k('dead-letter'),
    /** Dead letters an operator replayed with a corrected event (hash: id -> when, by whom, event id). */
    deadLetterReplayed: () => k('dead-letter', 'replayed'),
    /** Live list (a set) editable at run time. */
    list: (name: string) => k('list', name),
    /** Names of every live list. */
    listIndex: () => k('lists'),
    /** Bumped on every live-list change, so consumers reload lists only when they changed. */
    listsVersion: () => k('lists-version'),
    /** Live-list change log (a capped stream; entry id = the lists version the change made). */
    listChanges: () => k('lists-changes'),
    /** Why the removals queue is paused (hash: reason, kind, at). */
    pause: () => k('removals-paused'),
    /** Until when VideoSDK's `Retry-After` holds every removal (epoch ms; expires with it). */
    rateLimited: () => k('removals-rate-limited'),
    /** Rules reload broadcast and the current rule-set status. */
    rulesChannel: () => k('rules-reload'),
    rulesStatus: () => k('rules-status'),
    /** Pub/sub channel on which each worker answers a rules reload with its result. */
    rulesReplies: () => k('rules-reload', 'replies'),
    /** The deployment's recorded `AUTOMOD_PARTITIONS` (a worker with another value refuses to start). */
    recordedPartitions: () => k('partitions'),
    /** A ban (JSON, expiring with the ban): of one meeting (`meeting`, id) or every meeting (`all`). */
    ban: (scope: 'meeting' | 'all', meetingId: string | undefined, participantId: string) =>
      scope === 'all' ? k('ban', 'all', participantId) : k('ban', 'meeting', meetingId ?? '', participantId),
    /** Ban keys by expiry (ms; permanent = +inf), for listing; expired members are pruned lazily. */
    banIndex: () => k('ban-index'),
    /** One review item (hash) and its evidence (a capped list). */
    review: (id: string) => k('review', id),
    reviewEvidence: (id: string) => k('review', id, 'evidence'),
    /** The pending item of a participant + session + rule (its id; expires with the item). */
    reviewOpen: (sessionId: string, participantId: string, rule: string) => k('review-open', sessionId, participantId, rule),
    /** Every item by creation (ms), and the pending ones by expiry (ms): a sorted set each. */
    reviewIndex: () => k('reviews'),
    reviewPending: () => k('reviews', 'pending'),
    /** A meeting's lockdown (JSON, expiring with it), its admitted participants (a set), and the index by end (ms). */
    lockdown: (meetingId: string) => k('lockdown', meetingId),
    lockdownAdmit: (meetingId: string) => k('lockdown', meetingId, 'admit'),
    lockdownIndex: () => k('lockdowns'),
    /**
     * What the worker saw of a meeting's members (hash: `j:<participant>` first join ms,
     * `r:<participant>` a host or moderator role, `s` the session it last saw a join in).
     */
    meetingMembers: (meetingId: string) => k('meeting', meetingId, 'members'),
    /** A rule's removals within its budget window: a sorted set of removal job ids by time (ms). */
    ruleBudget: (rule: string) => k('rule-budget', rule),
    /** Tripped rules by the end of their trip (ms); a rule past its end is armed again. */
    rulesTripped: () => k('rules-tripped'),
    /** What tripped each rule (hash: rule -> JSON {at, until, budget, count}). */
    rulesTrippedDetail: () => k('rules-tripped', 'detail'),
    /** Counters for metrics shared by every worker. */
    stats: () => k('stats'),
  };
}

export type Keys = ReturnType<typeof createKeys>;
/** The keys under one hash tag (a partition's, or the global ones). */
export type TagKeys = ReturnType<typeof keysOf>;
