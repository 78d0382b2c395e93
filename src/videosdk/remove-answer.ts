import type { ApiResponse } from './api-answer.js';
import { isParticipantActive, parseSession } from './session.js';

/**
 * What a 2xx answer to a remove call says about the removal. `confirmed` answers are the shapes
 * VideoSDK documents: its API reference's session object (no longer listing the participant as
 * in the session) and its SDK's confirmation message. Anything else is `unknown`: a 200 from a
 * proxy's error page, `{"success": false}`, an empty body, a session that still lists the
 * participant; only a read of the session can tell then. `why` is in our words, never the
 * answer's (a proxy's page can echo the request's headers).
 */
export type RemoveAnswer = { kind: 'confirmed'; shape: 'session' | 'message' } | { kind: 'unknown'; why: string };

export interface ClassifyOptions {
  /**
   * Answers of at least this many bytes are first read without parsing them whole (see
   * `scanSessionAnswer`). Default 64 KiB: a raid's remove answers list thousands of participants.
   */
  scanFromBytes?: number;
}

/** Answers this large are scanned for the participant before (rather than instead of) a whole parse. */
const SCAN_FROM_BYTES = 64 * 1024;
/** The official SDK's confirmation is a short sentence; a long text is a page, not a message. */
const MESSAGE_MAX = 200;
const SAYS_REMOVED = /\b(?:removed|success|successful|successfully)\b/i;
const SAYS_NOT = /\b(?:not|no|never|fail|failed|failure|unable|cannot|can't|couldn't|error|denied|invalid|unknown)\b/i;

/**
 * Classifies a 2xx remove answer, once, at the API boundary. Pure; never throws. A large answer
 * (a session of thousands) is read from its bytes for the one participant when that is
 * conclusive, so a raid does not parse the whole session with every removal.
 */
export function classifyRemoveAnswer(
  response: Pick<ApiResponse, 'raw' | 'body'>,
  participantId: string,
  options: ClassifyOptions = {},
): RemoveAnswer {
  const raw = response.raw;
  if (raw !== undefined && raw.length >= (options.scanFromBytes ?? SCAN_FROM_BYTES)) {
    const scanned = scanSessionAnswer(raw, participantId);
    if (scanned !== undefined) return scanned;
  }
  try {
    return classifyBody(response.body, participantId);
  } catch {
    return unknown('an answer of no known shape');
  }
}

function unknown(why: string): RemoveAnswer {
  return { kind: 'unknown', why };
}

function classifyBody(body: unknown, participantId: string): RemoveAnswer {
  if (typeof body === 'string') return classifyText(body);
  if (!isObject(body)) return unknown('an answer of no known shape');
  const failure = statedFailure(body);
  if (failure !== undefined) return unknown(failure);
  if (listsParticipants(body)) {
    const session = parseSession(body);
    if (session === undefined) return unknown('an answer of no known shape');
    return isParticipantActive(session, participantId)
      ? unknown('a session that still lists the participant as in it')
      : { kind: 'confirmed', shape: 'session' };
  }
  if (typeof body.message === 'string') return classifyText(body.message);
  return unknown('an answer of no known shape');
}

function classifyText(text: string): RemoveAnswer {
  const trimmed = text.trim();
  if (trimmed === '') return unknown('an empty body');
  if (trimmed.startsWith('<') || /<\s*(?:html|body|head|!doctype)\b/i.test(trimmed)) return unknown('an HTML page');
  if (trimmed.length > MESSAGE_MAX) return unknown('a text that is not a confirmation');
  if (SAYS_NOT.test(trimmed) || !SAYS_REMOVED.test(trimmed)) return unknown('a message that does not say the participant was removed');
  return { kind: 'confirmed', shape: 'message' };
}

/** `success: false` or an error stated at the top level (or in a `data` wrapper). */
function statedFailure(body: Record<string, unknown>): string | undefined {
  for (const record of [body, isObject(body.data) ? body.data : undefined]) {
    if (record === undefined) continue;
    if ('success' in record && record.success !== true) return 'a "success" that is not true';
    for (const key of ['error', 'errors'] as const) {
      const value = record[key];
      if (value !== undefined && value !== null && value !== false && value !== '' && !(Array.isArray(value) && value.length === 0)) {
        return 'an error';
      }
    }
  }
  return undefined;
}

/** A session object with its participants: at the top level, or in a `data` wrapper. */
function listsParticipants(body: Record<string, unknown>): boolean {
  return Array.isArray(body.participants) || (isObject(body.data) && Array.isArray(body.data.participants));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- Reading a large answer without parsing it whole -------------------------------------------

/** Ids every JSON writer puts down as they are (no escapes), so a byte search finds them. */
const PLAIN_ID = /^[A-Za-z0-9_.:@+~-]{1,200}$/;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const PARTICIPANT_ID_KEY = Buffer.from('"participantId"');
const PARTICIPANTS_KEY = Buffer.from('"participants"');
const SUCCESS_KEY = Buffer.from('"success"');
const ERROR = Buffer.from('error');
const LETTER_S = 0x73;

/**
 * Reads a session answer's bytes for the participant's own entries (`{"participantId": "<id>",
 * ..., "timelog": [...]}`), parsing only those. Answers `undefined` whenever that is not
 * conclusive, and the caller then parses the answer whole: an id that a writer might escape, a
 * body that is not one JSON object, any `success` or `error(s)` key, no top-level
 * `participants` list, the id found only outside a participant's entry, an entry whose timelog
 * comes before its id.
 *
 * It relies on one property of JSON: inside a string every `"` is escaped, so a `"` preceded by
 * `{` or `,` (blanks aside) starts a key, whatever participants put in their names.
 */
export function scanSessionAnswer(raw: Buffer, participantId: string): RemoveAnswer | undefined {
  if (!PLAIN_ID.test(participantId)) return undefined;
  if (raw[skipBlanks(raw, 0, 1)] !== OPEN_BRACE || raw[skipBlanks(raw, raw.length - 1, -1)] !== CLOSE_BRACE) return undefined;
  // A stated failure anywhere (the whole parse looks at the top level only) leaves it to that parse.
  if (keyPositions(raw, SUCCESS_KEY, 1).length > 0 || hasErrorKey(raw)) return undefined;
  // The list must be the session's own: a top-level key whose value is an array.
  const [listKey] = keyPositions(raw, PARTICIPANTS_KEY, 1);
  if (listKey === undefined || depthAt(raw, listKey) !== 1) return undefined;
  if (raw[skipBlanks(raw, skipBlanks(raw, listKey + PARTICIPANTS_KEY.length, 1) + 1, 1)] !== OPEN_BRACKET) return undefined;

  // Searched without its opening quote: a needle that starts with `"` stops at every string.
  const value = Buffer.from(`${participantId}"`);
  let active = false;
  let listed = false;
  for (let found = raw.indexOf(value, 1); found !== -1; found = raw.indexOf(value, found + value.length)) {
    const at = found - 1;
    if (raw[at] !== QUOTE) continue;
    const keyAt = participantIdKeyBefore(raw, at);
    if (keyAt === undefined) continue;
    const end = closingBrace(raw, found + value.length);
    if (end === undefined) return undefined;
    let entry: unknown;
    try {
      entry = JSON.parse(`{${raw.toString('utf8', keyAt, end + 1)}`) as unknown;
    } catch {
      return undefined;
    }
    if (!isObject(entry) || entry.participantId !== participantId || !Array.isArray(entry.timelog)) return undefined;
    const session = parseSession({ participants: [entry] });
    if (session === undefined) return undefined;
    listed = true;
    active ||= isParticipantActive(session, participantId);
  }
  // Not listed at all (the id nowhere in the answer, not even in a name): the session says they are not in it.
  if (!listed) return raw.indexOf(participantId) === -1 ? { kind: 'confirmed', shape: 'session' } : undefined;
  return active ? unknown('a session that still lists the participant as in it') : { kind: 'confirmed', shape: 'session' };
}

/** Where `"participantId":` (a key) starts when the string at `at` is its value; else undefined. */
function participantIdKeyBefore(raw: Buffer, at: number): number | undefined {
  const colon = skipBlanks(raw, at - 1, -1);
  if (raw[colon] !== COLON) return undefined;
  const keyEnd = skipBlanks(raw, colon - 1, -1) + 1;
  const keyAt = keyEnd - PARTICIPANT_ID_KEY.length;
  if (keyAt < 0 || !raw.subarray(keyAt, keyEnd).equals(PARTICIPANT_ID_KEY)) return undefined;
  return startsKey(raw, keyAt) ? keyAt : undefined;
}

/**
 * Positions (of the opening quote) where `quotedKey` occurs as a key: followed by `:`, its quote
 * preceded by `{` or `,`. At most `limit`.
 */
function keyPositions(raw: Buffer, quotedKey: Buffer, limit = Infinity): number[] {
  const tail = quotedKey.subarray(1);
  const positions: number[] = [];
  for (let found = raw.indexOf(tail, 1); found !== -1 && positions.length < limit; found = raw.indexOf(tail, found + tail.length)) {
    const at = found - 1;
    if (raw[at] === QUOTE && startsKey(raw, at) && raw[skipBlanks(raw, found + tail.length, 1)] === COLON) positions.push(at);
  }
  return positions;
}

/** Whether `"error"` or `"errors"` occurs as a key: one search for both, the answer read once. */
function hasErrorKey(raw: Buffer): boolean {
  for (let found = raw.indexOf(ERROR, 1); found !== -1; found = raw.indexOf(ERROR, found + ERROR.length)) {
    const at = found - 1;
    if (raw[at] !== QUOTE) continue;
    const close = raw[found + ERROR.length] === LETTER_S ? found + ERROR.length + 1 : found + ERROR.length;
    if (raw[close] === QUOTE && startsKey(raw, at) && raw[skipBlanks(raw, close + 1, 1)] === COLON) return true;
  }
  return false;
}

/** The `"` at `at` opens a key: it follows `{` or `,`, which never stand right before a `"` inside a string. */
function startsKey(raw: Buffer, at: number): boolean {
  const before = raw[skipBlanks(raw, at - 1, -1)];
  return before === OPEN_BRACE || before === COMMA;
}

/** The `}` that closes the object `from` is inside (outside any string), or undefined. */
function closingBrace(raw: Buffer, from: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = from; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) return c === CLOSE_BRACE ? i : undefined;
      depth--;
    }
  }
  return undefined;
}

/** How many objects and arrays enclose the byte at `at` (read from the start, strings skipped). */
function depthAt(raw: Buffer, at: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < at; i++) {
    const c = raw[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return depth;
}

/** The first index from `at` (walking by `step`) that is not JSON whitespace. */
function skipBlanks(raw: Buffer, at: number, step: 1 | -1): number {
  let i = at;
  while (i >= 0 && i < raw.length && (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)) i += step;
  return i;
}
