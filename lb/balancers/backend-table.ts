import type { BalancerBackend } from './balancer.js';

/**
 * The backend list compiled into typed arrays, plus the two selection steps
 * several algorithms share (nginx's smooth weighted round robin and a
 * weighted random draw). Positions `k` are positions in the list given to the
 * factory; `ids[k]` is the backend index used by `eligible`, `inFlight` and
 * the value `pick` returns.
 */
export class BackendTable {
  /** Number of backends. */
  readonly count: number;
  /** Backend index (config position) at each list position. */
  readonly ids: Int32Array;
  /** Weight (integer >= 1) at each list position. */
  readonly weights: Int32Array;

  constructor(backends: readonly BalancerBackend[]) {
    this.count = backends.length;
    this.ids = new Int32Array(backends.length);
    this.weights = new Int32Array(backends.length);
    backends.forEach((b, k) => {
      this.ids[k] = b.index;
      this.weights[k] = b.weight;
    });
  }

  /** Backend index at list position `k`; -1 outside the list, which no mask marks eligible. */
  idAt(k: number): number {
    return this.ids[k] ?? -1;
  }

  /** Weight at list position `k`; 0 outside the list. */
  weightAt(k: number): number {
    return this.weights[k] ?? 0;
  }
}

/** Requests in flight to backend `id` (0 for an index the array does not hold). */
export function inFlightOf(inFlight: Int32Array, id: number): number {
  return inFlight[id] ?? 0;
}

/**
 * One step of nginx's smooth weighted round robin (ngx_http_upstream_get_peer):
 * every participant's current weight grows by its weight, the largest wins
 * (first on ties) and loses the participants' total. Participants are the
 * eligible backends; when `inFlight` is given, only those whose
 * inFlight/weight equals loadNum/loadDen (the least_conn tie set). Others keep
 * their current weight, as nginx's down peers do.
 *
 * @param current per-position current weights, mutated; start at 0.
 * @returns a backend index, or -1 when nobody participates.
 */
export function pickSmooth(
  table: BackendTable,
  current: Int32Array,
  eligible: Uint8Array,
  inFlight: Int32Array | null,
  loadNum: number,
  loadDen: number,
): number {
  let best = -1;
  let bestCurrent = 0;
  let total = 0;
  for (let k = 0; k < table.count; k++) {
    const id = table.idAt(k);
    if (eligible[id] !== 1) continue;
    const w = table.weightAt(k);
    // Cross-multiplied so the tie test is exact integer arithmetic.
    if (inFlight !== null && inFlightOf(inFlight, id) * loadDen !== loadNum * w) continue;
    const grown = (current[k] ?? 0) + w;
    current[k] = grown;
    total += w;
    if (best === -1 || grown > bestCurrent) {
      best = k;
      bestCurrent = grown;
    }
  }
  if (best === -1) return -1;
  current[best] = bestCurrent - total;
  return table.idAt(best);
}

/**
 * Draws one eligible backend with probability proportional to its weight,
 * leaving out list position `excludeK` (-1: none).
 *
 * @param r uniform random in [0, 1).
 * @returns a list position (not a backend index), or -1 when none is eligible.
 */
export function drawWeighted(table: BackendTable, eligible: Uint8Array, r: number, excludeK: number): number {
  const count = table.count;
  let total = 0;
  for (let k = 0; k < count; k++) {
    if (k !== excludeK && eligible[table.idAt(k)] === 1) total += table.weightAt(k);
  }
  if (total === 0) return -1;
  let target = r * total;
  let last = -1;
  for (let k = 0; k < count; k++) {
    if (k === excludeK || eligible[table.idAt(k)] !== 1) continue;
    target -= table.weightAt(k);
    if (target < 0) return k;
    last = k;
  }
  // Only reachable through floating-point rounding with r close to 1.
  return last;
}

/** `inFlight[a]/weightA < inFlight[b]/weightB`, exactly, without division. */
export function lessLoaded(inFlightA: number, weightA: number, inFlightB: number, weightB: number): boolean {
  return inFlightA * weightB < inFlightB * weightA;
}
