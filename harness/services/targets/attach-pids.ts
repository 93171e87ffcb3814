/**
 * The processes of a balancer lbbench did not start, found once by the
 * port they listen on, and then filtered to those still alive.
 */
import { readProcStat } from '../../sampling/proc-stats.js';
import { findListeningPids } from '../../sampling/socket-scan.js';

/** Listening-socket owners of one port, primary first. */
export interface SocketOwners {
  /** Finds them by `port`, and by `alsoPorts` (e.g. the metrics port) for a primary that holds no `port` socket. */
  find(port: number, ...alsoPorts: number[]): Promise<void>;
  pids(): number[];
}

export function socketOwnersAlive(): SocketOwners {
  let found: number[] = [];
  return {
    async find(port: number, ...alsoPorts: number[]): Promise<void> {
      found = await findListeningPids(port, ...alsoPorts);
    },
    pids(): number[] {
      return found.filter((pid) => readProcStat(pid) !== undefined);
    },
  };
}
