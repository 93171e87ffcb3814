/**
 * Finding the external programs some engines and targets run (wrk, nginx,
 * haproxy) on PATH. No side effects beyond reading the file system.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Full path of `binary` found on PATH (or `binary` itself when it is a path
 * to an executable), or undefined. */
export function findOnPath(binary: string): string | undefined {
  if (binary.includes('/')) return isExecutable(binary) ? binary : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
