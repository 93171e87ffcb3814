/**
 * Plain-data helpers shared by the config, the scenario files and the
 * harness: what counts as a mapping, and how overrides merge into it.
 */

/** Every key optional, recursively; arrays are replaced whole, so their items stay DeepPartial. */
export type DeepPartial<T> = T extends readonly (infer U)[] ? readonly DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Whether `v` is a mapping (a non-null object that is not an array), as parsed YAML and JSON give them. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `over` deep-merged into a copy of `base`: mappings merge key by key;
 * anything else (arrays, scalars, null) replaces; a key whose value in
 * `over` is `undefined` is left as it is in `base`. Neither argument is
 * modified, and the result shares no object with them (structuredClone).
 */
export function deepMerge<T>(base: T, over: DeepPartial<T> | undefined): T {
  const out = structuredClone(base) as unknown;
  if (over === undefined) return out as T;
  return mergeInto(out, over) as T;
}

function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch) || !isPlainObject(target)) return structuredClone(patch);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    target[k] = isPlainObject(v) && isPlainObject(target[k]) ? mergeInto(target[k], v) : structuredClone(v);
  }
  return target;
}
