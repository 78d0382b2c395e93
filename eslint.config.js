// ESLint flat config: typescript-eslint's recommended rules (syntax only: no type information, so
// linting needs no program build), Prettier owns formatting, and an import rule keeps the layers.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, highest first (docs/architecture.md): a folder may import the folders after
 * it, never one before it. `shared/` (configuration, errors, logging, metrics, the event schema) is
 * the ground floor every layer stands on. `simulator/` stands aside: it fakes VideoSDK and may read
 * only `videosdk/` (the API paths) and `shared/`.
 */
const LAYERS = ['cli', 'app', 'http', 'events', 'rules', 'consequences', 'removals', 'notify', 'store', 'videosdk', 'moderation', 'shared'];
const FOLDERS = [...LAYERS, 'simulator', 'bench'];

const forbid = (folders, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: folders.flatMap((f) => [`./${f}/**`, `**/${f}/**`]), message }] }],
});

const layerRules = LAYERS.map((layer, i) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: forbid(
    // The CLI may start the simulator (`automod demo`); nothing else in the product runs it.
    [...LAYERS.slice(0, i), ...(layer === 'cli' ? [] : ['simulator']), 'bench'],
    `${layer}/ may import only the layers below it (${LAYERS.slice(i + 1).join(', ') || 'none'}): see docs/architecture.md`,
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
      FOLDERS.filter((f) => f !== 'simulator' && f !== 'videosdk' && f !== 'shared'),
      'simulator/ fakes VideoSDK and may import only videosdk/ (the API paths) and shared/',
    ),
  },
  prettier,
);
