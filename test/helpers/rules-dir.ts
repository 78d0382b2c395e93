import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary rules folder: `files` are written as JSON, `lists` as lists/NAME.txt. */
export async function tempRules(
  files: Record<string, unknown> = {},
  lists: Record<string, string> = {},
  options: { shipped?: boolean } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'automod-rules-'));
  if (options.shipped) await cp('rules', dir, { recursive: true });
  await mkdir(join(dir, 'lists'), { recursive: true });
  for (const [name, content] of Object.entries(files))
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  for (const [name, content] of Object.entries(lists)) await writeFile(join(dir, 'lists', `${name}.txt`), content);
  return dir;
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}
