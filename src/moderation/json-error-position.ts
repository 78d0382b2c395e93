/**
 * Where `JSON.parse(text)` failed, as a 1-based line and column. V8 names the position in most of
 * its messages ("... in JSON at position 14") but not in "Unexpected token" ones, nor at the end of
 * the input; then the longest prefix of `text` that is still a possible start of a JSON text ends
 * where the error is (found by bisection, as V8 reports a cut-short prefix as "end of input" or
 * with a position at its very end).
 */
export function jsonErrorPosition(text: string, message: string): { line: number; column: number } {
  const named = /at position (\d+)/.exec(message)?.[1];
  const offset = named !== undefined ? Math.min(Number(named), text.length) : viablePrefixLength(text);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function viablePrefixLength(text: string): number {
  if (isViablePrefix(text)) return text.length; // cut short: the error is at its end
  let low = 0; // viable
  let high = text.length; // not viable
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (isViablePrefix(text.slice(0, mid))) low = mid;
    else high = mid;
  }
  return low;
}

function isViablePrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (/Unexpected end of JSON input/.test(message)) return true;
    const at = /at position (\d+)/.exec(message)?.[1];
    return at !== undefined && Number(at) >= prefix.length;
  }
}
