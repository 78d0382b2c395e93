/**
 * The one rule for JSON-lines files (`events add`, `rules test`): blank lines and lines whose first
 * non-blank character is `#` are skipped, so a fixtures file can carry comments and still be fed
 * to the queue as it is.
 */
export function isSkippedLine(text: string): boolean {
  const trimmed = text.trim();
  return trimmed === '' || trimmed.startsWith('#');
}
