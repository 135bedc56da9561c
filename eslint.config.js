// Lint: floating promises are errors everywhere; workflow code may not import Node
// built-ins, pino, or activity code (types only), because it runs in Temporal's
// deterministic sandbox and replays.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.vigil/**', 'dist/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins (do I/O in an activity).' })),
            { name: 'pino', message: 'Workflow code logs with `log` from @temporalio/workflow.' }],
          patterns: [
            { group: ['**/activities', '**/activities/**'], allowTypeImports: true, message: 'Workflows import activity types only (proxyActivities).' },
            { group: ['**/src/mcp/**', '**/src/evidence/**', '**/src/worker/**', '**/src/config*', '**/src/logger*', '**/src/temporal/**', '**/src/knowledge/**', '**/src/report/report-store*'], message: 'This module does I/O: call it from an activity.' },
          ],
        },
      ],
    },
  },
);
