import type { Balancer, BalancerBackend, BalancerFactory, BalancerOptions, PickContext } from './balancer.js';
import { BackendTable } from './backend-table.js';

/** Virtual nodes per unit of weight when the options give none. */
export const DEFAULT_VIRTUAL_NODES = 100;

/**
 * 32-bit FNV-1a over the string's UTF-16 code units, followed by murmur3's
 * fmix32 finalizer. FNV-1a alone spreads near-identical strings
 * (`backend-8001#17`, `#18`) poorly over the ring; the finalizer gives full
 * avalanche. No allocation.
 *
 * @returns an unsigned 32-bit integer.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * `consistent_hash`: a hash ring with `virtualNodes × weight` points per
 * backend at `hash32("<name>#<i>")`. A request goes to the owner of the first
 * point at or after the hash of its key (`ctx.hashKey ?? ctx.clientIp`),
 * walking clockwise past ineligible owners. Points depend only on backend
 * names, so when a backend leaves (ineligible, or removed from the list) only
 * the keys it owned move, and they come back when it returns.
 *
 * Memory: 12 bytes per point; 3 backends of weight 1 at the default 100
 * virtual nodes make 300 points.
 */
export class ConsistentHashBalancer implements Balancer {
  private readonly table: BackendTable;
  /** Point hashes, ascending. */
  private readonly ringHash: Uint32Array;
  /** List position owning each point. */
  private readonly ringOwner: Int32Array;

  constructor(backends: readonly BalancerBackend[], options: BalancerOptions = {}) {
    this.table = new BackendTable(backends);
    const virtualNodes = options.virtualNodes ?? DEFAULT_VIRTUAL_NODES;
    let points = 0;
    for (const b of backends) points += virtualNodes * b.weight;
    // hash * 2^16 + position sorts by hash, then by list position on the rare
    // collision, and stays exact below 2^53 (fewer than 65536 backends).
    const keyed = new Float64Array(points);
    let p = 0;
    backends.forEach((b, k) => {
      for (let i = 0; i < virtualNodes * b.weight; i++) keyed[p++] = hash32(`${b.name}#${i}`) * 65536 + k;
    });
    keyed.sort();
    this.ringHash = new Uint32Array(points);
    this.ringOwner = new Int32Array(points);
    keyed.forEach((v, i) => {
      this.ringHash[i] = Math.floor(v / 65536);
      this.ringOwner[i] = v % 65536;
    });
  }

  pick(ctx: PickContext, eligible: Uint8Array): number {
    const table = this.table;
    // Without this check an all-ineligible mask would walk the whole ring.
    let any = false;
    for (let k = 0; k < table.count; k++) {
      if (eligible[table.idAt(k)] === 1) {
        any = true;
        break;
      }
    }
    if (!any) return -1;
    const ringHash = this.ringHash;
    const n = ringHash.length;
    const h = hash32(ctx.hashKey ?? ctx.clientIp);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ringHash[mid] ?? h) < h) lo = mid + 1;
      else hi = mid;
    }
    for (let step = 0; step < n; step++) {
      let i = lo + step;
      if (i >= n) i -= n;
      const id = table.idAt(this.ringOwner[i] ?? -1);
      if (eligible[id] === 1) return id;
    }
    return -1;
  }
}

/** Factory for the registry. */
export const createConsistentHash: BalancerFactory = (backends, options) => new ConsistentHashBalancer(backends, options);
