/**
 * CPU and memory of processes, read from /proc (Linux). Used to sample the
 * balancer, backends and generator per PID.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { itemAt } from '../../common/checked.js';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE_BYTES = 4096;

export interface ProcStat {
  pid: number;
  /** user + system CPU time since start, ms. */
  cpuMs: number;
  rssBytes: number;
  /** Parent PID. */
  ppid: number;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; fields
  // after the last ')' are fixed.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const rssPages = Number(rest[21]);
  return { pid, ppid, cpuMs: ((utime + stime) * 1000) / TICKS_PER_SECOND, rssBytes: rssPages * PAGE_SIZE_BYTES };
}

/** PIDs of the direct children of `pid`. */
export function childPids(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const out: number[] = [];
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.trim().split(/\s+/)) if (c) out.push(Number(c));
    }
    return out;
  } catch {
    return [];
  }
}

/** `pid` and all its descendants. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childPids(itemAt(out, i, 'out[i]')));
  return out;
}

/** Tracks CPU % of one process between calls to `sample()`. */
export class CpuMeter {
  private lastCpuMs: number;
  private lastAtMs: number;
  constructor(
    readonly pid: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastCpuMs = readProcStat(pid)?.cpuMs ?? 0;
    this.lastAtMs = now();
  }
  /** CPU since the previous sample, % of one core; undefined if the process is gone. */
  sample(): { cpuPercent: number; rssBytes: number } | undefined {
    const stat = readProcStat(this.pid);
    if (!stat) return undefined;
    const at = this.now();
    const elapsed = at - this.lastAtMs;
    const cpuPercent = elapsed > 0 ? ((stat.cpuMs - this.lastCpuMs) / elapsed) * 100 : 0;
    this.lastCpuMs = stat.cpuMs;
    this.lastAtMs = at;
    return { cpuPercent, rssBytes: stat.rssBytes };
  }
}
