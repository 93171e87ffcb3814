/**
 * The registry of targets: the built-in `lbbench`, `nginx` and `haproxy`,
 * plus those declared under `targets:` in the config, by name. An explicit
 * map, not self-registration (STYLE.md).
 */
import type { LbbenchConfig, TargetConfig } from '../../../common/config.js';
import { UsageError } from '../../../common/errors.js';
import { AttachTarget } from './attach-target.js';
import { CommandTarget } from './command-target.js';
import { HaproxyTarget } from './haproxy-target.js';
import { LbbenchTarget } from './lbbench-target.js';
import { NginxTarget } from './nginx-target.js';
import type { Availability, Target } from './target.js';
import { itemAt } from '../../../common/checked.js';

/** Targets that exist without any declaration. */
export const BUILTIN_TARGETS = ['lbbench', 'nginx', 'haproxy'] as const;

/** The default of `--targets`. */
export const DEFAULT_TARGET = 'lbbench';

function fromDeclaration(name: string, decl: TargetConfig): Target {
  switch (decl.kind) {
    case 'lbbench':
      return new LbbenchTarget(name);
    case 'nginx':
      return new NginxTarget(name, decl.binary);
    case 'haproxy':
      return new HaproxyTarget(name, decl.binary);
    case 'command':
      return new CommandTarget(name, decl);
    case 'attach':
      return new AttachTarget(name, {
        ...(decl.url !== undefined ? { url: decl.url } : {}),
        metricsUrl: decl.metricsUrl ?? null,
        metricsFormat: decl.metricsFormat,
        ...(decl.readyPath !== undefined ? { readyPath: decl.readyPath } : {}),
      });
  }
}

/** Every target name this config knows: built-ins first, then declared ones. */
export function knownTargetNames(config: Pick<LbbenchConfig, 'targets'>): string[] {
  const declared = Object.keys(config.targets ?? {});
  return [...BUILTIN_TARGETS.filter((n) => !declared.includes(n)), ...declared];
}

/** A new target by name; throws UsageError (exit 2) naming the known ones. */
export function createTarget(name: string, config: Pick<LbbenchConfig, 'targets'>): Target {
  const decl = config.targets?.[name];
  if (decl) return fromDeclaration(name, decl);
  if (name === 'lbbench') return new LbbenchTarget();
  if (name === 'nginx') return new NginxTarget();
  if (name === 'haproxy') return new HaproxyTarget();
  throw new UsageError(`unknown target "${name}"; known targets: ${knownTargetNames(config).join(', ')} (declare others under targets: in the config)`);
}

/** The attach target of `--attach`: the configured lb.listen and lb.metrics. */
export function configuredAttachTarget(): Target {
  return new AttachTarget('attach');
}

/**
 * Parses a `--targets` list (`lbbench,nginx,haproxy`), creates each target
 * and checks that its program is installed. Throws UsageError (exit 2,
 * before anything starts) for an unknown name, a duplicate, or a missing
 * program, with how to install it.
 */
export async function resolveTargets(list: string | readonly string[], config: Pick<LbbenchConfig, 'targets'>): Promise<Target[]> {
  const names = (typeof list === 'string' ? list.split(',') : list).map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new UsageError('--targets: expected a comma-separated list of target names, e.g. lbbench,nginx,haproxy');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--targets: "${dup}" is listed twice`);
  const targets = names.map((n) => createTarget(n, config));
  const checks = await Promise.all(targets.map((t) => t.available()));
  const missing = targets
    .map((t, i) => [t, itemAt(checks, i, 'checks[i]')] as const)
    .filter((x): x is readonly [Target, Extract<Availability, { ok: false }>] => !x[1].ok);
  if (missing.length > 0) {
    const lines = missing.map(([t, a]) => `target ${t.name}: ${a.reason}`);
    const hints = [...new Set(missing.map(([, a]) => a.hint))];
    throw new UsageError(`${lines.join('; ')}. ${hints.join('; ')}`);
  }
  return targets;
}

export type { Target, TargetSummary, TargetKind } from './target.js';
