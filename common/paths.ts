import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the lbbench package (where package.json lives). Works from dist/. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The CLI shim; spawn children as `node BIN_PATH <verb> ...`. */
export const BIN_PATH = path.join(PACKAGE_ROOT, 'bin', 'lbbench.js');

/** Compiled JS of a source module, e.g. `distPath('lb/worker.js')`. */
export function distPath(relative: string): string {
  return path.join(PACKAGE_ROOT, 'dist', relative);
}

/** lbbench's own version (`version` of its package.json, read once at
 * load), e.g. `0.1.0`; `unknown` when package.json cannot be read. */
export const PACKAGE_VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Directory of the bundled scenario files. */
export const SCENARIOS_DIR = path.join(PACKAGE_ROOT, 'scenarios');
