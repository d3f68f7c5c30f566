// Lint rules that keep the architecture honest; the main one: workflow code imports no Node built-ins and does no I/O.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.regatta/**', 'examples/sdk/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'activities/**/*.ts', 'policies/**/*.ts'],
    ignores: ['src/dev/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/dev/*'],
              message: 'src/dev is the dev stack, not part of the SDK: move what both need out of it',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({
            name,
            message: 'workflow code is deterministic: no Node built-ins (put I/O in an activity)',
          })),
          patterns: [
            {
              group: ['node:*'],
              message: 'workflow code is deterministic: no Node built-ins (put I/O in an activity)',
            },
            {
              group: ['dockerode', 'isomorphic-git', 'isomorphic-git/*', '@aws-sdk/*', 'openai', 'yaml'],
              message: 'workflow code does no I/O: call an activity',
            },
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
              message: 'workflows use @temporalio/workflow only',
            },
            {
              group: ['**/activities/*', '**/activities/**'],
              message: 'workflows import activities type-only, through proxyActivities',
              allowTypeImports: true,
            },
            {
              group: [
                '**/src/dev/*',
                '**/src/sandbox/*',
                '**/src/git/*',
                '**/src/artifacts/*',
                '**/src/forges/*',
                '**/src/agent/*',
                '**/src/config',
              ],
              message: 'workflow code does no I/O: call an activity',
              allowTypeImports: true,
            },
            {
              // Each workflow instance evaluates the modules it imports: building the zod schemas cost every run tens of ms.
              regex: '^zod(/.*)?$|(^|/)src/contracts(/(?!(hash|run-states)$)[^/]+)?$',
              message:
                'workflow code imports the zod contracts type-only (each workflow instance would build every schema): take values from a zod-free module such as src/contracts/run-states.ts',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'workflow code does no I/O: call an activity' },
        { name: 'process', message: 'workflow code reads no process state' },
      ],
    },
  },
);
