import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface FolderWatchOptions {
  rulesDir: string;
  /** Quiet time after the last change before `onChange` (ms). */
  debounceMs: number;
  /** Called once a change has settled. */
  onChange: () => void;
}

/**
 * Watches the rules folder and its `lists/` (also when `lists/` appears later) and calls
 * `onChange` shortly after a change settles. The paths are watched, not the folders first found
 * there: a watch follows an inode, so after `mv live live.old; mv live.new live` (or a swapped
 * symbolic link: ConfigMap's `..data`, a `current -> releases/N` link) it would go on watching the
 * old folder. The parent folder is watched for the folder's own name, and every event re-arms any
 * watch whose path now leads to another inode.
 */
export function watchRulesFolder({ rulesDir, debounceMs, onChange: settled }: FolderWatchOptions): { close(): void } {
  // Each watched folder with the identity of the folder it was armed on (device, inode, birth time:
  // an inode number alone may be reused by a folder created after the old one was deleted).
  const watchers = new Map<string, { watcher: FSWatcher; identity: string | undefined }>();
  let debounce: NodeJS.Timeout | undefined;
  const root = resolve(rulesDir);
  const targets = [root, join(root, 'lists')];
  const identity = (path: string): string | undefined => {
    try {
      const stats = statSync(path);
      return stats.isDirectory() ? `${stats.dev}:${stats.ino}:${stats.birthtimeMs}` : undefined;
    } catch {
      return undefined;
    }
  };
  const arm = (path: string, id: string): void => {
    try {
      const watcher = watch(path, onChange);
      watcher.on('error', () => {
        watcher.close();
        if (watchers.get(path)?.watcher === watcher) watchers.delete(path);
      });
      watchers.set(path, { watcher, identity: id });
    } catch {
      // Not there (yet): a later event in the parent or the folder arms it.
    }
  };
  const rearm = (): void => {
    for (const path of targets) {
      const id = identity(path);
      const current = watchers.get(path);
      if (current && current.identity === id) continue;
      current?.watcher.close();
      watchers.delete(path);
      if (id !== undefined) arm(path, id);
    }
  };
  function onChange(): void {
    rearm();
    clearTimeout(debounce);
    debounce = setTimeout(settled, debounceMs);
  }
  const name = basename(root);
  try {
    const parent = watch(dirname(root), (_event, file) => {
      if (file === null || file === name) onChange();
    });
    parent.on('error', () => parent.close());
    watchers.set(`parent:${dirname(root)}`, { watcher: parent, identity: undefined });
  } catch {
    // A parent that cannot be watched (permissions): the folder's own watch still sees edits.
  }
  rearm();

  return {
    close() {
      clearTimeout(debounce);
      for (const w of watchers.values()) w.watcher.close();
      watchers.clear();
    },
  };
}
