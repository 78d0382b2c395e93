import { z } from 'zod';
import { parseDuration } from './duration.js';

// The kinds of value an environment variable holds, each a zod schema of the variable's text
// (trimmed, and present: a blank one counts as unset). A refusal names the accepted form and,
// for the kinds that never hold a secret, the value given; tokens, secrets and URLs that may carry
// a password are never echoed.

/** A whole number from `min` to `max`. */
export const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .refine((raw) => /^-?\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max, {
      error: (issue) => `must be a whole number from ${min} to ${max}, got "${String(issue.input)}"`,
    })
    .transform(Number);

/** Hours from `min` up. Fractions are allowed (0.25 = 15 min): short-lived set-ups and the benchmark. */
export const hours = (min: number) =>
  z
    .string()
    .refine((raw) => /^\d+(\.\d+)?$/.test(raw) && Number(raw) >= min, {
      error: (issue) => `must be a number of hours from ${min} up (fractions allowed), got "${String(issue.input)}"`,
    })
    .transform(Number);

/** A duration written like `30m`, `24h` or `7d` (see `parseDuration`), from `min` to `max`; in milliseconds. */
export const duration = (min: string, max: string) =>
  z.string().transform((raw, ctx) => {
    const ms = parseDuration(raw);
    if (ms !== undefined && ms >= parseDuration(min)! && ms <= parseDuration(max)!) return ms;
    ctx.addIssue({ code: 'custom', message: `must be a duration from ${min} to ${max} like 30m, 24h or 7d, got "${raw}"` });
    return z.NEVER;
  });

/** `true`/`false` as environment variables spell them, in any case (also 1/0, yes/no). */
export const boolean = z.stringbool({
  truthy: ['true', '1', 'yes'],
  falsy: ['false', '0', 'no'],
  error: (issue) => `must be true or false, got "${String(issue.input)}"`,
});

/** A URL using one of `protocols`. Only its protocol is echoed: a URL may carry a password. */
export const url = (protocols: readonly string[]) =>
  z
    .url({ error: 'is not a valid URL' })
    // A value that is no URL at all has its problem already.
    .refine((value) => !URL.canParse(value) || protocols.includes(new URL(value).protocol), {
      error: (issue) => `must use ${protocols.join(' or ')}, got "${new URL(String(issue.input)).protocol}"`,
    });

/** One of `values`, named in the refusal. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) => `must be ${values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`}, got "${String(issue.input)}"`,
  });

/** A comma-separated list of `item`s; blank entries are skipped. */
export const commaList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    )
    .pipe(z.array(item));

/** A Redis Cluster seed, `host:port` (an IPv6 host in brackets). */
export const hostPort = z.string().transform((seed, ctx) => {
  const match = /^(.+):(\d{1,5})$/.exec(seed);
  const port = Number(match?.[2]);
  if (match && port >= 1 && port <= 65535) return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  ctx.addIssue({ code: 'custom', message: `"${seed}" is not host:port` });
  return z.NEVER;
});

/** Receivers' http(s) URLs. A URL may itself be a credential (Slack, Discord): a refusal names its position only. */
export const receiverUrls = commaList(z.string()).superRefine((urls, ctx) => {
  const receiver = z.url({ protocol: /^https?$/ });
  for (const [i, value] of urls.entries()) {
    if (!receiver.safeParse(value).success) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not an http(s) URL` });
  }
});

/** A PEM public key; `\n` escapes (a key kept on one line) become newlines. */
export const pemPublicKey = z
  .string()
  .transform((raw) => raw.replace(/\\n/g, '\n'))
  .refine((pem) => pem.includes('-----BEGIN'), 'must be a PEM public key (-----BEGIN PUBLIC KEY-----...)');

/** A credential compared against what a client sends: at least `min` characters, never echoed. */
export const token = (min: number) => z.string().min(min, `must be at least ${min} characters (openssl rand -hex 24 makes a good one)`);

/** A secret taken as it is. */
export const secret = z.string();
