import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd });

/** The import-direction problems ESLint reports for a file at `path` holding `code`. */
async function layerProblems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: path });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rule (eslint.config.js, docs/architecture.md)', () => {
  it('refuses an import from a higher layer, at any depth', async () => {
    expect(await layerProblems('src/store/probe.ts', "import '../events/ingest.js';")).toHaveLength(1);
    expect(await layerProblems('src/moderation/probe.ts', "import '../store/keys.js';")).toHaveLength(1);
    expect(await layerProblems('src/http/routes/probe.ts', "import '../../app/services.js';")).toHaveLength(1);
    expect(await layerProblems('src/events/probe.ts', "import type { Services } from '../app/services.js';")).toHaveLength(1);
    expect(await layerProblems('src/removals/probe.ts', "import '../simulator/simulator.js';")).toHaveLength(1);
    expect(await layerProblems('src/simulator/probe.ts', "import '../store/redis.js';")).toHaveLength(1);
    expect(await layerProblems('src/shared/probe.ts', "import '../store/redis.js';")).toHaveLength(1);
    expect(await layerProblems('src/shared/probe.ts', "import '../events/ingest.js';")).toHaveLength(1);
  });

  it('lets a layer import the layers below it and shared/ (the event schema included)', async () => {
    expect(
      await layerProblems(
        'src/events/probe.ts',
        "import '../rules/rules-runtime.js';\nimport '../store/keys.js';\nimport '../shared/errors.js';",
      ),
    ).toEqual([]);
    expect(await layerProblems('src/moderation/probe.ts', "import '../shared/event-schema.js';")).toEqual([]);
    expect(await layerProblems('src/simulator/probe.ts', "import '../shared/free-port.js';")).toEqual([]);
    expect(
      await layerProblems('src/cli/commands/probe.ts', "import '../../simulator/simulator.js';\nimport '../../app/automod.js';"),
    ).toEqual([]);
    expect(await layerProblems('src/simulator/probe.ts', "import '../videosdk/api-paths.js';")).toEqual([]);
  });
});
