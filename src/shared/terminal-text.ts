/**
 * Text from participants (ids, names, chat, reasons a producer wrote) is hostile: printed raw, an
 * escape sequence retitles the operator's terminal, clears it or forges a row, a newline starts a
 * line that looks like ours, a bidi override reverses what follows. These characters are shown
 * escaped instead, visibly: `\x1b`, `\n`, `\u202e`.
 *
 * Escaped: the C0 controls (newline and tab included), DEL, the C1 controls, the bidi marks,
 * embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the
 * Unicode line and paragraph separators (U+2028, U+2029).
 */
const REORDERING = '\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${REORDERING}]`, 'g');
const UNSAFE_BUT_NEWLINE = new RegExp(`[\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f${REORDERING}]`, 'g');
const UNSAFE_BUT_C0 = new RegExp(`[\\u007f-\\u009f${REORDERING}]`, 'g');

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.charCodeAt(0);
  // C0 as `\x1b`; the rest as `\u007f`, `\u202e`: a form JSON reads too, so JSON output passing
  // through `terminalOutput` stays valid JSON with the same values.
  return code < 0x20 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** A value as it may be shown in a terminal: one line, every character above escaped. */
export function terminalText(value: string): string {
  return value.replace(UNSAFE, escapeOne);
}

/**
 * Output as it may reach a terminal: every character above escaped except the newlines that end
 * its lines. JSON keeps its meaning (JSON.stringify has escaped the C0 controls already).
 */
export function terminalOutput(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, escapeOne);
}

/**
 * For output whose C0 controls are its own (a log formatter's colours and line breaks, with the
 * C0 controls of values already removed): DEL, C1, the bidi controls and the line separators
 * escaped.
 */
export function terminalLayout(text: string): string {
  return text.replace(UNSAFE_BUT_C0, escapeOne);
}

/**
 * A template tag for output text: every interpolated value goes through `terminalText` (its
 * newlines included), the template's own text is kept: `` esc`removed ${participantId}\n` ``.
 */
export function esc(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += terminalText(typeof value === 'string' ? value : String(value)) + (strings[i + 1] ?? '');
  });
  return out;
}
