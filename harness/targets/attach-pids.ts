/**
 * The processes of a balancer lbbench did not start, found once by the
 * port they listen on, and then filtered to those still alive.
 */
import { readProcStat } from '../proc-stats.js';
import { findListeningPids } from '../socket-scan.js';

/** Listening-socket owners of one port, primary first. */
export interface SocketOwners {
  find(port: number): Promise<void>;
  pids(): number[];
}

export function socketOwnersAlive(): SocketOwners {
  let found: number[] = [];
  return {
    async find(port: number): Promise<void> {
      found = await findListeningPids(port);
    },
    pids(): number[] {
      return found.filter((pid) => readProcStat(pid) !== undefined);
    },
  };
}
