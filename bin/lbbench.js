#!/usr/bin/env node
// Entry point for the `lbbench` CLI. The TypeScript sources compile to dist/
// on `npm ci` (the `prepare` script); this shim only loads the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/harness/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('lbbench: dist/ is missing; run `npm ci` or `npm run build` first\n');
  process.exit(2);
}
await import(cli.href);
