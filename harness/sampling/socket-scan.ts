/**
 * Which process holds which TCP socket, from /proc/net/tcp{,6} and the
 * socket links in /proc/<pid>/fd. Linux only; every function returns an
 * empty answer (never throws) where /proc is missing or not readable.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { processTree, readProcStat } from './proc-stats.js';
import { itemAt } from '../../common/checked.js';

/** TCP states in /proc/net/tcp (hex). */
const TCP_ESTABLISHED = '01';
const TCP_LISTEN = '0A';

/** One row of /proc/net/tcp{,6}: local port, state (hex) and inode. */
interface TcpRow {
  localPort: number;
  state: string;
  inode: string;
}

/** Rows of `/proc/net/tcp` and `/proc/net/tcp6` (or `/proc/<pid>/net/...`
 * when `pid` is given: that process's network namespace). */
function readTcpTables(pid?: number): TcpRow[] {
  const rows: TcpRow[] = [];
  const dir = pid === undefined ? '/proc/net' : `/proc/${pid}/net`;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${dir}/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] is local address:port (hex), f[3] the state, f[9] the inode.
      if (f.length < 10) continue;
      rows.push({ localPort: parseInt(itemAt(f, 1, 'f[1]').split(':').pop()!, 16), state: itemAt(f, 3, 'f[3]'), inode: itemAt(f, 9, 'f[9]') });
    }
  }
  return rows;
}

/** Inodes of the sockets `pid` has open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of safeReaddir(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(itemAt(m, 1, 'm[1]'));
    } catch {
      // The fd closed between readdir and readlink.
    }
  }
  return inodes;
}

/** TCP-established sockets held by `pid`. */
export function establishedSocketCount(pid: number): number {
  const inodes = socketInodes(pid);
  if (inodes.size === 0) return 0;
  let count = 0;
  for (const row of readTcpTables(pid)) if (row.state === TCP_ESTABLISHED && inodes.has(row.inode)) count++;
  return count;
}

/**
 * PIDs of the processes holding a listening TCP socket on `port` (or on any
 * of `alsoPorts`), primary first: the one whose parent is not in the set,
 * then its descendants. `alsoPorts` finds a primary that holds none of the
 * `port` sockets itself (lbbench's balancer with SO_REUSEPORT: the workers
 * listen, the primary serves metrics). Empty when not found or not permitted.
 */
export async function findListeningPids(port: number, ...alsoPorts: number[]): Promise<number[]> {
  const inodes = new Set<string>();
  const ports = new Set([port, ...alsoPorts]);
  for (const row of readTcpTables()) if (row.state === TCP_LISTEN && ports.has(row.localPort)) inodes.add(row.inode);
  if (inodes.size === 0) return [];
  const holders: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const own = socketInodes(Number(entry));
    for (const inode of own) {
      if (inodes.has(inode)) {
        holders.push(Number(entry));
        break;
      }
    }
  }
  const set = new Set(holders);
  const primary = holders.find((pid) => !set.has(readProcStat(pid)?.ppid ?? -1));
  return primary === undefined ? holders : processTree(primary);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
