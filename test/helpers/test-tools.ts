import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The variable `.ci/run` sets: a test that needs a program beyond Node and Redis (a browser for the
 * console test, curl and jq for the docs test) then fails without it instead of skipping itself.
 */
export const REQUIRE_TOOLS_VARIABLE = 'AUTOMOD_TEST_TOOLS_REQUIRED';

/**
 * How a test that needs outside programs runs here: with them (`found`: name -> path), or not at
 * all, and then either the one line that says so and how to run it (`skip`), or, where they are
 * required (CI), the error that fails the test (`fail`).
 */
export type ToolPlan = { found: Record<string, string> } | { skip: string } | { fail: string };

/** Names a Chromium goes by on Debian, Ubuntu and with Google's packages, looked up on `PATH`. */
const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/**
 * Plans a browser test: `CHROMIUM_PATH` (a path set on purpose that does not work fails, never
 * skips), else the first of the usual names on `PATH`, as `found.browser`. puppeteer-core
 * downloads no browser, and nothing in `npm ci` may either.
 */
export function planBrowser(test: string, env: NodeJS.ProcessEnv = process.env): ToolPlan {
  const given = env.CHROMIUM_PATH;
  if (given) return executable(given) ? { found: { browser: given } } : { fail: `CHROMIUM_PATH=${given} is not an executable file` };
  const path = BROWSER_NAMES.map((name) => onPath(name, env)).find((p) => p !== undefined);
  if (path !== undefined) return { found: { browser: path } };
  return missing(
    test,
    `no Chromium (${BROWSER_NAMES.join(', ')} on PATH)`,
    'install Chromium (Debian: apt-get install chromium) or set CHROMIUM_PATH to a Chrome or Chromium binary',
    env,
  );
}

/** Plans a test that runs programs from `PATH` (`found`: each name -> its path). */
export function planPrograms(test: string, names: readonly string[], env: NodeJS.ProcessEnv = process.env): ToolPlan {
  const found: Record<string, string> = {};
  const absent: string[] = [];
  for (const name of names) {
    const path = onPath(name, env);
    if (path === undefined) absent.push(name);
    else found[name] = path;
  }
  if (absent.length === 0) return { found };
  return missing(
    test,
    `no ${absent.join(', ')} on PATH`,
    `install ${absent.join(' and ')} (Debian: apt-get install ${absent.join(' ')})`,
    env,
  );
}

function missing(test: string, what: string, how: string, env: NodeJS.ProcessEnv): ToolPlan {
  if (env[REQUIRE_TOOLS_VARIABLE] === 'true')
    return { fail: `${test} needs what is missing here: ${what} (${REQUIRE_TOOLS_VARIABLE}=true); ${how}` };
  return { skip: `${test} skipped: ${what}; to run it, ${how}, then: npx vitest run ${test}` };
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
