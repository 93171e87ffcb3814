/**
 * The run loop's step between targets: put `target` on the balancer's
 * address (stopping the one there), or report why it could not start, so
 * the run goes on with the next target and records this one as INVALID.
 */
import { LbbenchError } from '../../../common/errors.js';
import type { ManagedServices } from '../services.js';
import type { Target } from './target.js';
import { ErrorCode } from '../../../common/error-codes.js';

/** Versions of targets, looked up once per run. */
const versions = new WeakMap<Target, Promise<string | undefined>>();

function versionOf(target: Target): Promise<string | undefined> {
  let v = versions.get(target);
  if (!v)
    versions.set(
      target,
      (v = target.available().then(
        (a) => (a.ok ? a.version : undefined),
        () => undefined,
      )),
    );
  return v;
}

/** Makes `target` the running one; never throws for a start failure (Ctrl-C still propagates). */
export async function useTarget(
  services: ManagedServices,
  target: Target,
  out: (text: string) => void,
): Promise<{ ok: true; version?: string } | { ok: false; reason: string; version?: string }> {
  const version = await versionOf(target);
  const v = version !== undefined ? { version } : {};
  if (services.target === target) return { ok: true, ...v };
  out(`-- target ${target.name}: stopping ${services.target.name}, starting ${target.name} on ${services.lbUrl}\n`);
  try {
    await services.switchTarget(target);
    return { ok: true, ...v };
  } catch (err) {
    if (err instanceof LbbenchError && err.code === ErrorCode.INTERRUPTED) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    out(`target ${target.name} did not start: ${reason}\n`);
    return { ok: false, reason, ...v };
  }
}
