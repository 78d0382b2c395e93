import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidEventError, issueProblems, type Problem } from './errors.js';
import { quickFields, shapeSize, type EventFields } from './event-quick-check.js';

/** A meeting event as the worker handles it (the public event contract, with defaults filled in). */
export interface MeetingEvent {
  /** Idempotency key; generated when the producer gives none. */
  id: string;
  type: string;
  sessionId: string;
  meetingId?: string;
  participantId?: string;
  participantName?: string;
  /** ISO 8601; the time of receipt when the producer gives none. */
  timestamp: string;
  data: Record<string, unknown>;
  /**
   * Fields that were cut to their limit (`participantName`, `data.text`, `data.some.key`), or
   * `data` when only the moderated data fields (`text`, `name`, `role`) could be kept. Absent when
   * nothing was cut. Rules can test it: `{"fact": "event", "path": "$.truncated", "operator":
   * "contains", "value": "data.text"}`.
   */
  truncated?: string[];
  /**
   * Set when the producer's `timestamp` was further than `AUTOMOD_CLOCK_SKEW_SECONDS` from the
   * time the worker received the event: `timestamp` is then the time of receipt (what windows count
   * by) and `claimedTimestamp` the time the producer gave. Rules can test it: `{"fact": "event",
   * "path": "$.skewed", "operator": "equal", "value": true}`.
   */
  skewed?: true;
  /** The producer's `timestamp` of a skewed event (ISO 8601). */
  claimedTimestamp?: string;
}

/** Options of `parseEvent`. */
export interface ParseEventOptions {
  /**
   * Largest distance (ms) between the event's `timestamp` and `now` (its receipt) that is taken as
   * it is; further, the event counts at `now` and is marked `skewed`. Unset: no check (offline
   * `rules test`, producers).
   */
  clockSkewMs?: number;
}

/** Limits that keep one hostile event from costing more than any honest one. */
export const EVENT_LIMITS = {
  idLength: 200,
  typeLength: 100,
  fieldLength: 200,
  /** Display names (`participantName`, `data.name`): longer ones are cut, not refused. */
  nameLength: 500,
  /**
   * Chat text (`data.text`): moderated whole up to this many characters, so nothing can hide a
   * banned phrase past the cut; longer text is cut, not refused.
   */
  textLength: 64 * 1024,
  /** Any other string in `data`: longer ones are cut, not refused (6 bytes per char escaped stays under `bytes`). */
  stringLength: 4096,
  /** Entries kept in an event's `truncated` list. */
  truncatedEntries: 20,
  /** Serialized size of the event apart from `data.text` (which `textLength` bounds). */
  bytes: 64 * 1024,
  /** Nesting depth of `data`. */
  depth: 8,
} as const;

/** A string field whose problems read as what a producer should fix ("is required", not zod's wording). */
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });
const idString = (max: number) => text().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

const TIME_RULE = 'must be an ISO 8601 time such as 2026-11-25T10:00:00Z, or epoch milliseconds as a JSON number';
// Well-kept calendar checks (leap years, days per month), not our own: zod's ISO formats.
const ISO_TIME = z.union([z.iso.datetime({ offset: true, local: true }), z.iso.date()]);
const ISO_SHAPE = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?$/i;

/** What is wrong with a `timestamp`, or undefined when it is a real time. */
function timestampProblem(value: string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && !Number.isNaN(new Date(value).getTime()) ? undefined : TIME_RULE;
  if (/^\s*-?\d+(?:\.\d+)?\s*$/.test(value)) {
    // `new Date("12")` is December 2001: a number must not be read as a date by accident.
    return `is a number in a string: send epoch milliseconds as a JSON number, or an ISO 8601 time such as 2026-11-25T10:00:00Z`;
  }
  if (ISO_TIME.safeParse(value).success) return undefined;
  if (ISO_SHAPE.test(value)) {
    return `is not a real time (${JSON.stringify(value.slice(0, 40))}): write an ISO 8601 time such as 2026-11-25T10:00:00Z`;
  }
  return TIME_RULE;
}

const eventSchema = z.object({
  id: idString(EVENT_LIMITS.idLength).optional(),
  type: text()
    .trim()
    .min(1, 'must not be empty')
    .max(EVENT_LIMITS.typeLength, `must be at most ${EVENT_LIMITS.typeLength} characters`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be a name of letters, digits, "-", "_", "." or ":"'),
  sessionId: idString(EVENT_LIMITS.fieldLength),
  meetingId: idString(EVENT_LIMITS.fieldLength).optional(),
  participantId: idString(EVENT_LIMITS.fieldLength).optional(),
  participantName: text().optional(),
  timestamp: z
    .union([z.string(), z.number()], { error: TIME_RULE })
    .optional()
    .superRefine((v, ctx) => {
      const problem = timestampProblem(v);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  data: z.record(z.string(), z.unknown()).optional(),
  // Kept when an event already parsed once (HTTP, then the queue) is parsed again.
  skewed: z.literal(true, { error: 'must be true when present' }).optional(),
  claimedTimestamp: z.string().max(EVENT_LIMITS.fieldLength).optional(),
  truncated: z
    .array(z.string().max(EVENT_LIMITS.fieldLength))
    .max(EVENT_LIMITS.truncatedEntries + 1)
    .optional(),
});

/**
 * Characters that render as nothing (zero-width spaces and joiners, bidi controls, soft hyphens,
 * fillers): stripped from names and chat text so "Admin\u200bSupport" reads as "AdminSupport" to
 * the rules, and padding with them cannot push a name past its limit.
 */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/** Rules read the moderated data fields; when an event must shrink, these are what it keeps. */
const MODERATED_DATA = ['text', 'name', 'role'] as const;

/** Participant events cannot be acted on without knowing who. */
export function isParticipantEvent(type: string): boolean {
  return type.startsWith('participant-') || type === 'chat-message';
}

/** The fields cut while parsing an event (see `parseEvent`). */
const CUT = new Set<string>();

/** Objects an event may hold in all (`checkShape`). */
const MAX_NODES = 10_000;

/**
 * Most an event can grow by in parsing beyond its input (a generated id, a timestamp, the skew
 * marks, the list of cut fields): an input whose JSON is certainly under `EVENT_LIMITS.bytes` less
 * this needs no size check after.
 */
const GROWTH_BYTES = 32 * 1024;

/**
 * Validates one event and fills in its defaults. Throws `InvalidEventError` naming every problem
 * (JSON path and what is wrong); never returns a half-valid event.
 */
export function parseEvent(input: unknown, now: Date = new Date(), options: ParseEventOptions = {}): MeetingEvent {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidEventError([{ path: '$', message: 'must be a JSON object' }]);
  }
  const size = shapeSize(input, EVENT_LIMITS.depth + 1, MAX_NODES);
  if (size === undefined) throw new InvalidEventError([checkShape(input, EVENT_LIMITS.depth + 1)!]);

  const problems: Problem[] = [];
  const given = input as { type?: unknown; participantId?: unknown };
  if (typeof given.type === 'string' && isParticipantEvent(given.type) && given.participantId === undefined) {
    problems.push({ path: '$.participantId', message: `is required for "${given.type}" events` });
  }
  // The common case without zod; anything it is unsure of goes through the schema, which reports.
  const quick = problems.length === 0 ? quickFields(input, EVENT_LIMITS) : undefined;
  let raw: EventFields | undefined = quick;
  if (raw === undefined) {
    const result = eventSchema.safeParse(input);
    if (!result.success) throw new InvalidEventError([...issueProblems(result.error.issues), ...problems]);
    raw = result.data;
  }
  const data = raw.data;
  if (raw.type === 'chat-message' && data?.text !== undefined && typeof data.text !== 'string') {
    problems.push({ path: '$.data.text', message: 'must be a string' });
  }
  if (raw.type === 'participant-renamed' && data?.name !== undefined && typeof data.name !== 'string') {
    problems.push({ path: '$.data.name', message: 'must be a string' });
  }
  if (data?.role !== undefined && typeof data.role !== 'string') {
    problems.push({ path: '$.data.role', message: 'must be a string' });
  }
  if (problems.length > 0) throw new InvalidEventError(problems);

  // Oversized attacker-controlled text is cut, not refused: a refusal would skip the rules, so a
  // padded name or a huge chat message would escape moderation. Ids stay strictly bounded above.
  // One set for every parse (parsing is synchronous): most events cut nothing.
  const truncated = CUT;
  truncated.clear();
  if (raw.truncated !== undefined) for (const path of raw.truncated) truncated.add(path);
  const bounded = data === undefined ? {} : boundData(data, truncated);
  const timestamp = raw.timestamp;
  const event: MeetingEvent = {
    id: raw.id ?? randomUUID(),
    type: raw.type,
    sessionId: raw.sessionId,
    // A time `quickFields` passed is written as `toISOString` writes it already.
    timestamp: quick !== undefined && typeof timestamp === 'string' ? timestamp : new Date(timestamp ?? now.getTime()).toISOString(),
    data: bounded,
  };
  // A mark from an earlier parse (HTTP, then the queue) is kept; it never spares the check below.
  if (raw.skewed === true) {
    event.skewed = true;
    if (raw.claimedTimestamp !== undefined) event.claimedTimestamp = raw.claimedTimestamp;
  }
  if (options.clockSkewMs !== undefined && Math.abs(Date.parse(event.timestamp) - now.getTime()) > options.clockSkewMs) {
    // A producer's clock (or a forged time) must not move an event out of its window, or the
    // window away from everyone else's events: it counts when it was received.
    event.skewed = true;
    event.claimedTimestamp ??= event.timestamp;
    event.timestamp = now.toISOString();
  }
  if (raw.meetingId !== undefined) event.meetingId = raw.meetingId;
  if (raw.participantId !== undefined) event.participantId = raw.participantId;
  if (raw.participantName !== undefined)
    event.participantName = boundText(raw.participantName, EVENT_LIMITS.nameLength, 'participantName', truncated);
  if (truncated.size > 0) event.truncated = [...truncated];
  // Parsing only cuts and adds a few bounded fields: a small input needs no measuring.
  if (size > EVENT_LIMITS.bytes - GROWTH_BYTES && sizeBesideText(event) > EVENT_LIMITS.bytes) {
    // Many fields each under their limit: keep what the rules read, and say so.
    const kept: Record<string, unknown> = {};
    for (const key of MODERATED_DATA) if (typeof bounded[key] === 'string') kept[key] = bounded[key];
    event.data = kept;
    mark(truncated, 'data');
    event.truncated = [...truncated];
    if (sizeBesideText(event) > EVENT_LIMITS.bytes) {
      throw new InvalidEventError([{ path: '$', message: `is larger than ${EVENT_LIMITS.bytes} bytes` }]);
    }
  }
  return event;
}

/** Serialized size of the event in bytes, apart from `data.text` (bounded by its own limit). */
function sizeBesideText(event: MeetingEvent): number {
  const text = event.data.text;
  const size = Buffer.byteLength(JSON.stringify(event));
  return typeof text === 'string' ? size - Buffer.byteLength(JSON.stringify(text)) : size;
}

/** Strips invisible characters from names and chat text and cuts any string of `data` to its limit. */
function boundData(data: Record<string, unknown>, truncated: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    const value = data[key];
    let bounded: unknown;
    if (typeof value === 'string') {
      // Paths are built only for what is cut: nearly nothing is.
      const read = key === 'name' || key === 'text';
      const max = key === 'name' ? EVENT_LIMITS.nameLength : key === 'text' ? EVENT_LIMITS.textLength : EVENT_LIMITS.stringLength;
      if (value.length <= max && !(read && NON_ASCII.test(value))) bounded = value;
      else bounded = read ? boundText(value, max, `data.${key}`, truncated) : cut(value, max, `data.${key}`, truncated);
    } else bounded = value !== null && typeof value === 'object' ? boundStrings(value, `data.${key}`, truncated) : value;
    // Defined as an own property: a `__proto__` key stays a key, never a prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: bounded, enumerable: true, writable: true, configurable: true });
    else out[key] = bounded;
  }
  return out;
}

// Every invisible character is outside ASCII; most names and chat are ASCII, and skip the scan.
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII = /[^\x00-\x7f]/;

function boundText(value: string, max: number, path: string, truncated: Set<string>): string {
  return cut(NON_ASCII.test(value) ? value.replace(INVISIBLE, '') : value, max, path, truncated);
}

/** Depth is already bounded by `checkShape`, so recursion is safe here. */
function boundStrings(value: unknown, path: string, truncated: Set<string>): unknown {
  if (typeof value === 'string') return cut(value, EVENT_LIMITS.stringLength, path, truncated);
  if (Array.isArray(value)) return value.map((item, i) => boundStrings(item, `${path}[${i}]`, truncated));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, boundStrings(inner, `${path}.${key}`, truncated)]));
  }
  return value;
}

/** The list of cut fields is itself bounded: it must survive being parsed again from the queue. */
function mark(truncated: Set<string>, path: string): void {
  if (truncated.size < EVENT_LIMITS.truncatedEntries || path === 'data') truncated.add(path.slice(0, EVENT_LIMITS.fieldLength));
}

function cut(value: string, max: number, path: string, truncated: Set<string>): string {
  if (value.length <= max) return value;
  mark(truncated, path);
  // Never leave half a surrogate pair at the cut.
  const code = value.charCodeAt(max - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Parses one event or an array of them, reporting problems with the index of each bad one. */
export function parseEvents(input: unknown, now: Date = new Date()): MeetingEvent[] {
  const items = Array.isArray(input) ? input : [input];
  if (Array.isArray(input) && input.length === 0) {
    throw new InvalidEventError([{ path: '$', message: 'must hold at least one event' }]);
  }
  const events: MeetingEvent[] = [];
  const problems: Problem[] = [];
  items.forEach((item, index) => {
    try {
      events.push(parseEvent(item, now));
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      for (const p of err.problems) {
        problems.push({ path: Array.isArray(input) ? p.path.replace(/^\$/, `$[${index}]`) : p.path, message: p.message });
      }
    }
  });
  if (problems.length > 0) throw new InvalidEventError(problems);
  return events;
}

/** Rejects nesting deeper than `maxDepth` without recursing on hostile input. */
function checkShape(root: object, maxDepth: number): Problem | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: root, depth: 0, path: '$' }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > maxDepth) return { path, message: `is nested deeper than ${EVENT_LIMITS.depth} levels` };
    if (++nodes > 10_000) return { path: '$', message: 'has too many nested values' };
    for (const [key, inner] of Object.entries(value)) {
      stack.push({ value: inner, depth: depth + 1, path: Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}` });
    }
  }
  return undefined;
}

/** Custom event types are free-form; as a metrics label they collapse to `custom` (bounded cardinality). */
const KNOWN_TYPE = /^(participant-(joined|left|renamed)|chat-message|session-(started|ended)|(recording|hls|livestream)-[a-z]+)$/;
export function eventTypeLabel(type: string): string {
  return KNOWN_TYPE.test(type) ? type : 'custom';
}
