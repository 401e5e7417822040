'use strict';
// Lints the TypeScript sources (typed rules need no project service: tsc already type-checks)
// and the plain-JS build scripts.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'examples/**', 'node_modules/**', '.demo/**', '.tools/**', '.test-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // Scripts, sandboxes, tests and benchmarks are command-line programs: printing is their job.
    files: ['scripts/**', 'sandbox/**', 'test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Editor-side scripts served to the browser by Node-RED.
    files: ['resources/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', $: 'readonly', RED: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
