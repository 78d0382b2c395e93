import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../src/http/roles.js';
import { newToken, tokenSha256, writeTokensFile, type TokenEntry } from '../../src/http/tokens-file.js';

/** A tokens file in a folder of its own, and the tokens its hashes stand for. */
export interface TokensFixture {
  dir: string;
  path: string;
  /** Token by name. */
  tokens: Record<string, string>;
  /** Writes the file anew with these tokens (new ones made for names not seen before). */
  write(roles: Record<string, Role>): Promise<void>;
  bearer(name: string): { authorization: string };
  cleanup(): Promise<void>;
}

/** Writes `AUTOMOD_TOKENS_FILE` as `automod tokens add` would: one new token per name, only its hash in the file. */
export async function tokensFixture(roles: Record<string, Role>): Promise<TokensFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'automod-tokens-'));
  const path = join(dir, 'tokens.json');
  const tokens: Record<string, string> = {};
  const fixture: TokensFixture = {
    dir,
    path,
    tokens,
    async write(next) {
      const entries: TokenEntry[] = Object.entries(next).map(([name, role]) => {
        tokens[name] ??= newToken();
        return { name, role, sha256: tokenSha256(tokens[name]) };
      });
      await writeTokensFile(path, entries);
    },
    bearer: (name) => ({ authorization: `Bearer ${tokens[name]}` }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  await fixture.write(roles);
  return fixture;
}
