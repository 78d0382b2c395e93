import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Bull Board's page template, as its UI package ships it. */
const require = createRequire(import.meta.url);
const UI_VIEWS = join(dirname(require.resolve('@bull-board/ui/package.json')), 'dist');

let offlineViews: Promise<string> | undefined;

/**
 * A copy of Bull Board's page template without the web-font link to a public CDN, so an offline
 * deployment loads nothing from outside (the page falls back to the system sans-serif and
 * monospace fonts; its styles and scripts are served by the worker). Made once per process.
 */
export function offlineDashboardViews(): Promise<string> {
  offlineViews ??= (async () => {
    const template = await readFile(join(UI_VIEWS, 'index.ejs'), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'automod-board-'));
    await writeFile(join(dir, 'index.ejs'), template.replace(/<link[^>]+href="https?:\/\/[^"]*"[^>]*>\s*/g, ''));
    return dir;
  })();
  return offlineViews;
}
