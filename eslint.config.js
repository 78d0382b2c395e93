// ESLint flat config: typescript-eslint's recommended rules (syntax only: no type information, so
// linting needs no program build), Prettier owns formatting, and an import rule keeps the layers.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, highest first (docs/architecture.md): a folder may import the folders after
 * it and the shared files at the top of src/, never one before it. `simulator/` stands aside: it
 * fakes VideoSDK and may read only `videosdk/` (the API paths).
 */
const LAYERS = ['cli', 'app', 'http', 'events', 'rules', 'removals', 'notify', 'store', 'videosdk', 'moderation'];
const FOLDERS = [...LAYERS, 'simulator', 'bench'];

/** The event schema is the data every layer passes along: the one file of a higher layer all may read. */
const SHARED = ['!**/events/event-schema.js'];

const forbid = (folders, message) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ group: [...folders.flatMap((f) => [`./${f}/**`, `**/${f}/**`]), ...SHARED], message }] },
  ],
});

const layerRules = LAYERS.map((layer, i) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: forbid(
    // The CLI may start the simulator (`automod demo`); nothing else in the product runs it.
    [...LAYERS.slice(0, i), ...(layer === 'cli' ? [] : ['simulator']), 'bench'],
    `${layer}/ may import only the layers below it (${LAYERS.slice(i + 1).join(', ') || 'none'}) and the shared files of src/: see docs/architecture.md`,
  ),
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        NodeJS: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  ...layerRules,
  {
    // The console's browser code (served as it is: no build step).
    files: ['console/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'sessionStorage', 'fetch', 'Node', 'FormData', 'URLSearchParams', 'setTimeout', 'clearTimeout'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
  {
    files: ['src/simulator/**/*.ts'],
    rules: forbid(
      FOLDERS.filter((f) => f !== 'simulator' && f !== 'videosdk'),
      'simulator/ fakes VideoSDK and may import only videosdk/ (the API paths)',
    ),
  },
  {
    // The shared files at the top of src/ sit below every layer; the entries (cli.ts, index.ts) sit above them all.
    files: ['src/*.ts'],
    ignores: ['src/cli.ts', 'src/index.ts'],
    rules: forbid(FOLDERS, 'the shared files of src/ may import only each other: see docs/architecture.md'),
  },
  prettier,
);
