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
 * Collects the Environment, with the load engines' versions from
 * `engineVersions` (the run loop passes harness/engines' `engineVersions`).
 * Never rejects: a part that cannot be found is `unknown` (strings), 0
 * (numbers), `{}` (engines, when `engineVersions` fails) or absent
 * (`gitCommit` when PACKAGE_ROOT is not a git checkout or git is not
 * installed).
 */
export async function collectEnvironment(engineVersions: () => Promise<Record<string, string>>): Promise<Environment> {
  const [engines, gitCommit] = await Promise.all([engineVersions().catch(() => ({})), gitHead()]);
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

/** HEAD of the git checkout whose root is PACKAGE_ROOT. An lbbench installed
 * under node_modules of another repository must not report that repository's
 * commit, hence the top-level check. */
function gitHead(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', '--show-toplevel', 'HEAD'], { cwd: PACKAGE_ROOT, timeout: GIT_TIMEOUT_MS }, (err, stdout) => {
      if (err) return resolve(undefined);
      const [top, sha] = String(stdout)
        .trim()
        .split('\n')
        .map((l) => l.trim());
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
