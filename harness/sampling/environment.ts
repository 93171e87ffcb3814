/**
 * The machine and software a run happened on, recorded in every result so
 * that numbers from different machines are never compared blindly.
 */
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../../common/paths.js';
import type { Environment } from '../result/scenario-api.js';

/** `git rev-parse HEAD` gets this long before the commit is left out, ms. */
const GIT_TIMEOUT_MS = 2000;

/**
 * Collects the Environment. Never rejects: a part that cannot be found is
 * `unknown` (strings), 0 (numbers), `{}` (engines) or absent (`gitCommit`
 * when PACKAGE_ROOT is not a git checkout or git is not installed).
 */
export async function collectEnvironment(): Promise<Environment> {
  const [engines, gitCommit] = await Promise.all([loadEngineVersions(), gitHead()]);
  const cpus = os.cpus();
  const env: Environment = {
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    platform: `${os.platform()}-${os.arch()}`,
    node: process.version,
    lbbench: PACKAGE_VERSION,
    engines,
    hostname: os.hostname(),
  };
  if (gitCommit) env.gitCommit = gitCommit;
  return env;
}

/** `engineVersions()` of harness/engines/index.ts, loaded lazily so that this
 * module works while that one is missing or broken. */
async function loadEngineVersions(): Promise<Record<string, string>> {
  const specifier = '../engines/index.js';
  try {
    const mod = (await import(specifier)) as { engineVersions?: () => Record<string, string> | Promise<Record<string, string>> };
    if (typeof mod.engineVersions !== 'function') return {};
    const versions = await mod.engineVersions();
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(versions ?? {})) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return {};
  }
}

/** HEAD of the git checkout whose root is PACKAGE_ROOT. An lbbench installed
 * under node_modules of another repository must not report that repository's
 * commit, hence the top-level check. */
function gitHead(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', '--show-toplevel', 'HEAD'], { cwd: PACKAGE_ROOT, timeout: GIT_TIMEOUT_MS }, (err, stdout) => {
      if (err) return resolve(undefined);
      const [top, sha] = String(stdout).trim().split('\n').map((l) => l.trim());
      const sameRoot = top !== undefined && safeRealpath(top) === safeRealpath(PACKAGE_ROOT);
      resolve(sameRoot && sha !== undefined && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined);
    });
  });
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
