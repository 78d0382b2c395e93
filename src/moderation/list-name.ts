/**
 * The one rule for list names, shared by `rules/lists/NAME.txt`, the names rules reference and the
 * live lists in Redis: a rule's list is the file and the live list of that name together, so a
 * name must be one both can carry.
 */
export const LIST_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The rule in words, for problem messages. */
export const LIST_NAME_RULE = '1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit';

export function isListName(name: string): boolean {
  return LIST_NAME_PATTERN.test(name);
}
