// @ts-check
// Lint rules: typescript-eslint's type-checked "recommended" set, which is
// where the rules that catch real bugs in this code live (a promise nobody
// awaits or catches, a promise passed where a callback's result is ignored,
// `await` on a non-promise, unused bindings, `any` leaking into typed code,
// an assertion that asserts nothing). Style is prettier's job, not eslint's.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'reports/', 'benchmarks/'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe()/it() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // A leading underscore marks a parameter an interface requires but this implementation ignores.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `async` without `await` is how an interface's Promise-returning method turns a throw into a
      // rejection; flagging it finds no bug here, only churn.
      '@typescript-eslint/require-await': 'off',
      // Rejecting with an abort signal's reason (typed any) or a caught error (unknown) passes on what
      // we were given; literals and plain objects are still refused.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    // `x[i]!` asserts an index is in range without checking it. These directories have real checks
    // instead (common/checked.ts itemAt, narrowing by loop structure, defaults); keep it that way.
    files: ['common/**/*.ts', 'backend/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'harness/**/*.ts', 'lb/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSNonNullExpression > MemberExpression[computed=true]',
          message: 'Check the index instead of asserting it: itemAt(items, i, what) from common/checked.ts, a loop over the items, or `?? default`.',
        },
      ],
    },
  },
  {
    // Terminal-output tests look for ANSI escapes (\u001b[) on purpose.
    files: ['test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // The CLI shim and this file: plain ESM on Node, outside the TypeScript project.
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
);
