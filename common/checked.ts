/**
 * Checked indexing where the surrounding logic guarantees the index is in
 * range: a regex group that is not optional, a queue position below its
 * length, the i-th entry of two arrays built in step. Under
 * `noUncheckedIndexedAccess` such reads are `T | undefined`; a miss is a bug
 * in that logic, so this throws naming what was missing instead of passing
 * `undefined` on. (Where a miss is a normal case, check it in place and
 * handle it; where a default is meaningful, use `?? default`.)
 */
export function itemAt<T>(items: ArrayLike<T>, index: number, what: string): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`internal error: ${what} is missing (index ${index} of ${items.length})`);
  return item;
}

/** The value under `key`, or throws naming `what` when there is none: itemAt for records. */
export function valueAt<T>(record: Readonly<Partial<Record<string, T>>>, key: string, what: string): T {
  const value = record[key];
  if (value === undefined) throw new RangeError(`internal error: ${what} is missing (no key ${JSON.stringify(key)})`);
  return value;
}
