/**
 * The events hot path's checks before the event schema: zod builds issues, paths and copies for
 * every field of every event, which cost the worker more than anything else about an event but its
 * rules. These answer the common case (an event that is certainly valid) without it, and answer
 * "unsure" for everything else, which then goes through the schema: the errors a producer sees
 * always come from the one schema (`event-schema.ts`).
 */

/** The fields of an event as the schema would answer them. */
export interface EventFields {
  id?: string | undefined;
  type: string;
  sessionId: string;
  meetingId?: string | undefined;
  participantId?: string | undefined;
  participantName?: string | undefined;
  timestamp?: string | number | undefined;
  data?: Record<string, unknown> | undefined;
  skewed?: true | undefined;
  claimedTimestamp?: string | undefined;
  truncated?: string[] | undefined;
}

/** The limits the schema applies (`EVENT_LIMITS`). */
export interface FieldLimits {
  idLength: number;
  typeLength: number;
  fieldLength: number;
  truncatedEntries: number;
}

const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/**
 * The event's fields when the schema would certainly accept them as they are (trimmed where the
 * schema trims), or undefined: then the schema decides, and reports. Only plain objects (what JSON
 * parses to) are judged here; a canonical ISO time (what `toISOString` writes, as every event that
 * went through the HTTP ingest carries) or a millisecond number is the only time judged.
 */
export function quickFields(input: object, limits: FieldLimits): EventFields | undefined {
  if (!isPlain(input)) return undefined;
  const e = input as Record<string, unknown>;
  const type = trimmedWithin(e.type, limits.typeLength);
  const sessionId = trimmedWithin(e.sessionId, limits.fieldLength);
  if (type === undefined || sessionId === undefined || !TYPE_NAME.test(type)) return undefined;
  const id = optionalTrimmed(e.id, limits.idLength);
  const meetingId = optionalTrimmed(e.meetingId, limits.fieldLength);
  const participantId = optionalTrimmed(e.participantId, limits.fieldLength);
  if (id === false || meetingId === false || participantId === false) return undefined;
  const { participantName, timestamp, data, skewed, claimedTimestamp, truncated } = e;
  if (participantName !== undefined && typeof participantName !== 'string') return undefined;
  if (timestamp !== undefined && !isCertainTime(timestamp)) return undefined;
  if (data !== undefined && !isPlainRecord(data)) return undefined;
  if (skewed !== undefined && skewed !== true) return undefined;
  if (claimedTimestamp !== undefined && (typeof claimedTimestamp !== 'string' || claimedTimestamp.length > limits.fieldLength))
    return undefined;
  if (truncated !== undefined) {
    if (!Array.isArray(truncated) || truncated.length > limits.truncatedEntries + 1) return undefined;
    for (const entry of truncated) if (typeof entry !== 'string' || entry.length > limits.fieldLength) return undefined;
  }
  return {
    id,
    type,
    sessionId,
    meetingId,
    participantId,
    participantName: participantName as string | undefined,
    timestamp: timestamp as string | number | undefined,
    data: data as Record<string, unknown> | undefined,
    skewed: skewed as true | undefined,
    claimedTimestamp: claimedTimestamp as string | undefined,
    truncated: truncated as string[] | undefined,
  };
}

/**
 * Whether `root` nests no object deeper than `maxDepth` and holds at most `maxNodes` objects (as
 * `checkShape` judges), and an upper bound of its JSON size in bytes (every character at its most
 * costly escape); undefined when it does not pass. Walks without building paths: the path of a
 * problem is only needed to report it.
 */
export function shapeSize(root: object, maxDepth: number, maxNodes: number): number | undefined {
  // The walk's stacks are reused (it is synchronous): an event costs no arrays of its own.
  const values = WALK_VALUES;
  const depths = WALK_DEPTHS;
  values.length = 0;
  depths.length = 0;
  values.push(root);
  depths.push(0);
  try {
    return walk(values, depths, maxDepth, maxNodes);
  } finally {
    values.length = 0;
    depths.length = 0;
  }
}

const WALK_VALUES: unknown[] = [];
const WALK_DEPTHS: number[] = [];

function walk(values: unknown[], depths: number[], maxDepth: number, maxNodes: number): number | undefined {
  let nodes = 0;
  let bytes = 0;
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (typeof value === 'string') {
      bytes += 6 * value.length + 3;
      continue;
    }
    if (value === null || typeof value !== 'object') {
      // Numbers at most 24 characters, `true`, `false`, `null`; a separator each.
      bytes += 25;
      continue;
    }
    if (depth > maxDepth || ++nodes > maxNodes) return undefined;
    bytes += 3;
    if (Array.isArray(value)) {
      // The own enumerable keys, as `Object.entries` gives them, without building the list.
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        values.push(value[key as unknown as number]);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      bytes += 6 * key.length + 4;
      values.push((value as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return bytes;
}

/** An object literal or `JSON.parse` result: nothing a class or a proxy could make differ. */
function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A record the schema copies as it is: plain, no `__proto__` key (which it drops), no symbol keys (which it refuses). */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !Object.hasOwn(value, '__proto__') &&
    Object.getOwnPropertySymbols(value).length === 0
  );
}

function trimmedWithin(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed.length >= 1 && trimmed.length <= max ? trimmed : undefined;
}

/** Undefined when absent, the trimmed string when certainly valid, false when the schema must judge. */
function optionalTrimmed(value: unknown, max: number): string | undefined | false {
  if (value === undefined) return undefined;
  return trimmedWithin(value, max) ?? false;
}

/** A time the schema takes as it is: milliseconds of a real date, or exactly what `toISOString` writes. */
function isCertainTime(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && !Number.isNaN(new Date(value).getTime());
  if (typeof value !== 'string') return false;
  const m = CANONICAL_TIME.exec(value);
  if (m === null) return false;
  // The shape fixed every field's range but the day's: at most the month's length.
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (day <= 28) return true;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31);
}

/** What `toISOString` writes for years 0 to 9999, every field within its range. */
const CANONICAL_TIME = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
