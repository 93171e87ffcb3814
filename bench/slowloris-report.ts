/**
 * The pure parts of the slowloris bench (bench/slowloris.ts): its flags,
 * the summary over rounds, and the text it prints. No I/O here, so the
 * test suite checks them without any load.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../common/errors.js';
import { median } from '../common/stats.js';
import { parseDurationMs } from '../harness/cli/load.js';
import { formatSpread } from './bench-kit.js';
import type { SlowlorisCounts } from './slowloris-swarm.js';

/** The issue 12 goal: p99 with the attack at most this many times p99 without. */
export const GOAL_P99_RATIO = 1.5;

/** Settings of one bench run. */
export interface SlowlorisBenchOptions {
  /** Rounds of (without, with), interleaved. Default 3, at least 1. */
  rounds: number;
  /** Slowloris connections held during the `with` runs. Default 1000. */
  slow: number;
  /** Open-loop rate of the normal traffic, requests/s. Default 2000. */
  rate: number;
  /** Keep-alive connections of the normal traffic. Default 100. */
  connections: number;
  /** Measured window of each run, ms. Default 10000. */
  durationMs: number;
  /** Unrecorded warm-up before each window, ms. Default 1000. */
  warmupMs: number;
  /** Gap between two header bytes on one slowloris connection, ms. Default 3000. */
  byteIntervalMs: number;
  /** How long the attack runs before the traffic starts, ms, so that the
   * window sees the balancer cut the connections and the swarm reconnect
   * (with clientHeadersMs 10 s the cuts come 10-12 s after connect).
   * Default 5000. */
  leadMs: number;
  /** After each `with` window, how much longer the attack is held until
   * every connection was cut once, ms. The balancer cuts a slow head on a
   * sweep of at most 1 s after clientHeadersMs (another target may check
   * less often: node:http every 30 s), so the window alone may see none.
   * Default 40000; 0 does not wait. */
  cutWaitMs: number;
  /** Print one JSON object on stdout instead of the text summary. Default false. */
  json: boolean;
}

/** `--help` text. */
export const SLOWLORIS_USAGE = `usage: node dist/bench/slowloris.js [options]

Normal traffic (lbbench's open-loop engine on GET /echo through the
balancer and three test backends) with and without N slowloris connections
(partial heads, one more header byte every few seconds, reconnecting when
cut), interleaved over rounds; prints p99 without, p99 with, their ratio,
errors, and what the balancer did to the slowloris connections.

  --rounds N           rounds of (without, with) (default 3)
  --slow N             slowloris connections (default 1000)
  --rate R             normal traffic, requests/s (default 2000)
  --connections C      normal traffic connections (default 100)
  --duration D         measured window per run, e.g. 10s (default 10s)
  --warmup D           warm-up per run, not recorded (default 1s)
  --byte-interval D    gap between slowloris header bytes (default 3s)
  --lead D             the attack runs this long before the traffic starts,
                       so the window sees its cuts and reconnects (default 5s)
  --cut-wait D         after each window, hold the attack up to this much
                       longer until every connection was cut once
                       (default 40s; 0: do not wait)
  --json               print the rounds and summary as JSON on stdout
  -h, --help           this text
`;

function countFlag(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a whole number >= ${min}`);
  }
  return n;
}

/** Parses the bench's argv (without node and the script). Throws UsageError
 * (exit 2) naming the flag and the value for anything malformed; returns
 * `help` for -h/--help. */
export function parseSlowlorisArgs(argv: readonly string[]): SlowlorisBenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        rounds: { type: 'string', default: '3' },
        slow: { type: 'string', default: '1000' },
        rate: { type: 'string', default: '2000' },
        connections: { type: 'string', default: '100' },
        duration: { type: 'string', default: '10s' },
        warmup: { type: 'string', default: '1s' },
        'byte-interval': { type: 'string', default: '3s' },
        lead: { type: 'string', default: '5s' },
        'cut-wait': { type: 'string', default: '40s' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`, { cause: err });
  }
  if (values.help) return 'help';
  const rate = Number(values.rate);
  if (!(rate > 0) || !Number.isFinite(rate)) throw new UsageError(`--rate: ${JSON.stringify(values.rate)} is not a rate > 0 requests/s`);
  return {
    rounds: countFlag('--rounds', values.rounds, 1),
    slow: countFlag('--slow', values.slow, 1),
    rate,
    connections: countFlag('--connections', values.connections, 1),
    durationMs: parseDurationMs(values.duration),
    warmupMs: parseDurationMs(values.warmup, '--warmup', true),
    byteIntervalMs: parseDurationMs(values['byte-interval'], '--byte-interval'),
    leadMs: parseDurationMs(values.lead, '--lead', true),
    cutWaitMs: parseDurationMs(values['cut-wait'], '--cut-wait', true),
    json: values.json,
  };
}

/** How long a whole run may take, ms: each run's window, warm-up and up to
 * 30 s of connecting and settling, each round's lead and cut wait, plus a minute to
 * boot and stop. */
export function slowlorisBoundMs(o: SlowlorisBenchOptions): number {
  return 60_000 + o.rounds * (2 * (o.durationMs + o.warmupMs + 30_000) + o.leadMs + o.cutWaitMs);
}

/** One run of the normal traffic, with or without the attack. */
export interface TrafficRun {
  p50Ms: number;
  p99Ms: number;
  /** Completed responses in the window. */
  requests: number;
  /** Errors of every kind (non-2xx included) plus sends dropped for want of a connection. */
  errors: number;
  /** Errors by kind, dropped sends as `dropped`. */
  errorKinds: Record<string, number>;
  /** Whether the generator could not keep up (the run then says nothing of the balancer). */
  generatorSaturated: boolean;
  /** Why, when it could not. */
  saturatedReason?: string;
  /** p99 of each second of the window, ms: shows whether the tail is one
   * burst (the cuts, say) or the whole run. */
  p99BySecondMs: number[];
}

/** The attack during one `with` run. */
export interface AttackRun {
  /** Fewest and most slowloris connections open, sampled during the window. */
  openMin: number;
  openMax: number;
  /** Cuts while the traffic ran (warm-up and window). */
  cutsDuringTraffic: number;
  /** What the server did to the swarm from its start to its stop: the
   * traffic window, then up to `cutWaitMs` more for the first cuts. */
  counts: SlowlorisCounts;
}

/** One round: the traffic without the attack, then with it. */
export interface SlowlorisRound {
  without: TrafficRun;
  with: TrafficRun;
  attack: AttackRun;
}

/** The figures the bench prints, over all rounds. Plain data. */
export interface SlowlorisSummary {
  rounds: number;
  /** The balancer's `timeouts.clientHeadersMs`, where cuts are expected. */
  clientHeadersMs: number;
  /** Per round, in round order. */
  p99WithoutMs: number[];
  p99WithMs: number[];
  /** p99 with / p99 without, per round (the same round's pair). */
  p99Ratio: number[];
  errorsWithout: number[];
  errorsWith: number[];
  /** Fewest slowloris connections open during each `with` window. */
  slowOpenMin: number[];
  /** Cuts by the server per `with` run. */
  cuts: number[];
  /** Of those, the cuts while the traffic ran. */
  cutsDuringTraffic: number[];
  /** How long cut connections had lived, ms, over every round. */
  cutAfterMs: number[];
  /** Responses the swarm got before cuts, summed over rounds. */
  statuses: Record<string, number>;
  connectErrors: number;
  /** Runs whose generator could not keep up. */
  saturatedRuns: number;
  /** The issue 12 goal: median ratio <= GOAL_P99_RATIO, no errors in any `with` run, and no saturated run. */
  goalMet: boolean;
}

/** The summary of `rounds` (at least one) against a balancer with `clientHeadersMs`. */
export function summarizeSlowloris(rounds: readonly SlowlorisRound[], clientHeadersMs: number): SlowlorisSummary {
  if (rounds.length === 0) throw new RangeError('no rounds to summarize');
  const statuses: Record<string, number> = {};
  for (const r of rounds) for (const [code, n] of Object.entries(r.attack.counts.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const p99Ratio = rounds.map((r) => (r.without.p99Ms > 0 ? r.with.p99Ms / r.without.p99Ms : NaN));
  const errorsWith = rounds.map((r) => r.with.errors);
  const saturatedRuns = rounds.reduce((n, r) => n + Number(r.with.generatorSaturated) + Number(r.without.generatorSaturated), 0);
  const medianRatio = median(p99Ratio);
  return {
    rounds: rounds.length,
    clientHeadersMs,
    p99WithoutMs: rounds.map((r) => r.without.p99Ms),
    p99WithMs: rounds.map((r) => r.with.p99Ms),
    p99Ratio,
    errorsWithout: rounds.map((r) => r.without.errors),
    errorsWith,
    slowOpenMin: rounds.map((r) => r.attack.openMin),
    cuts: rounds.map((r) => r.attack.counts.cuts),
    cutsDuringTraffic: rounds.map((r) => r.attack.cutsDuringTraffic),
    cutAfterMs: rounds.flatMap((r) => r.attack.counts.cutAfterMs),
    statuses,
    connectErrors: rounds.reduce((n, r) => n + r.attack.counts.connectErrors, 0),
    saturatedRuns,
    goalMet: medianRatio <= GOAL_P99_RATIO && errorsWith.every((e) => e === 0) && saturatedRuns === 0,
  };
}

/** The summary as text lines: medians [min-max] over rounds. */
export function renderSlowlorisSummary(o: SlowlorisBenchOptions, s: SlowlorisSummary): string {
  const statusText = Object.entries(s.statuses)
    .map(([code, n]) => `${n} x ${code}`)
    .join(', ');
  const lines = [
    `slowloris: ${s.rounds} round(s) of ${o.durationMs / 1000} s at ${o.rate} req/s over ${o.connections} connections on /echo, ` +
      `without and with ${o.slow} slowloris connections (a header byte every ${o.byteIntervalMs / 1000} s); median [min-max] over rounds`,
    `  p99 without:       ${formatSpread(s.p99WithoutMs, 2)} ms`,
    `  p99 with:          ${formatSpread(s.p99WithMs, 2)} ms`,
    `  p99 ratio:         ${formatSpread(s.p99Ratio, 2)} (goal <= ${GOAL_P99_RATIO})`,
    `  errors without:    ${formatSpread(s.errorsWithout, 0)}`,
    `  errors with:       ${formatSpread(s.errorsWith, 0)}`,
    `  slowloris open:    ${formatSpread(s.slowOpenMin, 0)} of ${o.slow} at the least during each window`,
    `  slowloris cut:     ${formatSpread(s.cuts, 0)} per run (${formatSpread(s.cutsDuringTraffic, 0)} while the traffic ran), after ${formatSpread(
      s.cutAfterMs.map((ms) => ms / 1000),
      1,
    )} s (clientHeadersMs ${s.clientHeadersMs / 1000} s)${statusText ? `; answered ${statusText}` : ''}; ${s.connectErrors} failed connects`,
  ];
  if (s.saturatedRuns > 0) lines.push(`  WARNING: the generator could not keep up in ${s.saturatedRuns} run(s); those figures are the generator's`);
  lines.push(`  goal (p99 ratio <= ${GOAL_P99_RATIO}, no errors with the attack): ${s.goalMet ? 'met' : 'NOT met'}`);
  return lines.join('\n');
}
