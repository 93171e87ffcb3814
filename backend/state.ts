/**
 * What the request handlers of one backend share: identity, counters, faults
 * and the response pieces built once at listen time, so that the request path
 * allocates nothing it can avoid.
 */
import type { ServerResponse } from 'node:http';
import type { CapacityState } from './capacity.js';
import type { BackendMetrics } from './metrics.js';
import type { FaultSettings } from './options.js';
import type { BackendStats } from './stats.js';

export interface BackendState {
  /** Resolved name (`backend-<port>` unless given). */
  name: string;
  /** Port actually bound. */
  port: number;
  /** `<name>\n`: the body of `GET /echo`, `/delay` and `/status`. */
  nameBody: Buffer;
  /** Flat header list of every text response without its length. */
  textHeaders: string[];
  /** `textHeaders` plus the length of `nameBody`. */
  nameHeaders: string[];
  stats: BackendStats;
  faults: FaultSettings;
  random: () => number;
  /** Responses held open by the `hang` fault; destroyed on close. */
  hung: Set<ServerResponse>;
  /** Set once close() has begun: new hangs are cut at once. */
  closing: boolean;
  /** `/metrics` renderer, built on first scrape. */
  metrics: BackendMetrics | undefined;
  processMetrics: boolean;
  /** The fixed-capacity fault's service slots (capacity.ts). */
  capacity: CapacityState;
}

/** Sets the name-dependent parts of `state`. */
export function setIdentity(state: BackendState, name: string, port: number): void {
  state.name = name;
  state.port = port;
  state.nameBody = Buffer.from(`${name}\n`);
  state.textHeaders = ['x-backend', name, 'content-type', 'text/plain'];
  state.nameHeaders = [...state.textHeaders, 'content-length', String(state.nameBody.length)];
}
