/**
 * Slowloris benchmark (not a test), issue 12's goal: 1,000 slowloris
 * connections held open while normal traffic runs leave that traffic's p99
 * within 1.5x of a run without them, with no errors.
 *
 *   npm run build && flock /tmp/lbbench-cpu.lock npm run bench:slowloris -- [options]
 *
 * Boots three test backends and the balancer from the bundled config.yaml
 * (free loopback ports, harness/services), then, per round, runs lbbench's
 * open-loop engine (default 2,000 requests/s over 100 connections, 10 s,
 * GET /echo) once without and once with the attack (bench/slowloris-swarm.ts),
 * and prints the medians [min-max] over rounds (bench/slowloris-report.ts;
 * options there, or --help). Bounded in time: past its bound it stops and
 * prints the rounds it has.
 */
import { getEngine } from '../harness/engines/index.js';
import type { LoadResult } from '../harness/engines/engine.js';
import { benchConfig, runBounded, startBenchServices } from './bench-kit.js';
import {
  parseSlowlorisArgs,
  renderSlowlorisSummary,
  slowlorisBoundMs,
  SLOWLORIS_USAGE,
  summarizeSlowloris,
  type AttackRun,
  type SlowlorisBenchOptions,
  type SlowlorisRound,
  type TrafficRun,
} from './slowloris-report.js';
import { SlowlorisSwarm } from './slowloris-swarm.js';

/** How often the open slowloris connections are counted during a window, ms. */
const OPEN_SAMPLE_MS = 200;
/** Pause after each run, so the balancer has closed the last run's sockets, ms. */
const SETTLE_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function trafficRun(r: LoadResult): TrafficRun {
  const errorKinds: Record<string, number> = { ...r.errors };
  const dropped = r.schedule?.dropped ?? 0;
  if (dropped > 0) errorKinds.dropped = dropped;
  return {
    p50Ms: r.latency.p50Us / 1000,
    p99Ms: r.latency.p99Us / 1000,
    requests: r.requests,
    errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
    errorKinds,
    generatorSaturated: r.generator.saturated,
    p99BySecondMs: r.series.map((b) => b.p99Us / 1000),
    ...(r.generator.saturatedReason !== undefined ? { saturatedReason: r.generator.saturatedReason } : {}),
  };
}

const bySecond = (r: TrafficRun): string => r.p99BySecondMs.map((ms) => ms.toFixed(1)).join(' ');

function roundLine(without: TrafficRun, withAttack: TrafficRun, attack: AttackRun): string {
  const saturated = [without, withAttack].flatMap((r) => (r.saturatedReason !== undefined ? [r.saturatedReason] : []));
  return (
    `p99 ${without.p99Ms.toFixed(2)} ms without, ${withAttack.p99Ms.toFixed(2)} ms with; errors ${without.errors} / ${withAttack.errors}; ` +
    `slowloris open ${attack.openMin}-${attack.openMax}, ${attack.counts.cuts} cut (${attack.cutsDuringTraffic} during the traffic)` +
    (saturated.length > 0 ? `; generator: ${saturated.join('; ')}` : '') +
    `\n  p99 by second without: ${bySecond(without)}\n  p99 by second with:    ${bySecond(withAttack)}`
  );
}

async function main(argv: string[]): Promise<void> {
  const parsed = parseSlowlorisArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(SLOWLORIS_USAGE);
    return;
  }
  const o: SlowlorisBenchOptions = parsed;
  await runBounded('slowloris', slowlorisBoundMs(o), async (signal) => {
    const engine = await getEngine('open-loop');
    const config = benchConfig();
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const services = await startBenchServices(config, signal, log);
    const rounds: SlowlorisRound[] = [];
    try {
      const lb = new URL(services.lbUrl);
      const spec = {
        url: `${services.lbUrl}/echo`,
        rate: o.rate,
        connections: o.connections,
        durationMs: o.durationMs,
        warmupMs: o.warmupMs,
        // Per-second buckets for the p99-by-second lines.
        seriesIntervalMs: 1_000,
      };
      const runTraffic = async (): Promise<TrafficRun> => trafficRun(await engine.run(spec, signal));
      for (let round = 1; round <= o.rounds && !signal.aborted; round++) {
        process.stderr.write(`slowloris: round ${round}/${o.rounds}: without\n`);
        const without = await runTraffic();
        await sleep(SETTLE_MS);
        process.stderr.write(`slowloris: round ${round}/${o.rounds}: with ${o.slow} slowloris connections\n`);
        const swarm = new SlowlorisSwarm({ host: lb.hostname, port: Number(lb.port), connections: o.slow, byteIntervalMs: o.byteIntervalMs });
        let attack: AttackRun;
        let withAttack: TrafficRun;
        try {
          await swarm.open();
          await sleep(o.leadMs);
          const cutsBefore = swarm.snapshot().cuts;
          let openMin = swarm.snapshot().openNow;
          let openMax = openMin;
          const sampler = setInterval(() => {
            const open = swarm.snapshot().openNow;
            openMin = Math.min(openMin, open);
            openMax = Math.max(openMax, open);
          }, OPEN_SAMPLE_MS);
          try {
            withAttack = await runTraffic();
          } finally {
            clearInterval(sampler);
          }
          const cutsDuringTraffic = swarm.snapshot().cuts - cutsBefore;
          const cutDeadline = performance.now() + o.cutWaitMs;
          while (swarm.snapshot().cuts < o.slow && performance.now() < cutDeadline && !signal.aborted) await sleep(OPEN_SAMPLE_MS);
          attack = { openMin, openMax, cutsDuringTraffic, counts: swarm.snapshot() };
        } finally {
          await swarm.stop();
        }
        await sleep(SETTLE_MS);
        rounds.push({ without, with: withAttack, attack });
        process.stderr.write(`slowloris: round ${round}: ${roundLine(without, withAttack, attack)}\n`);
      }
    } finally {
      await services.stop();
      if (rounds.length > 0) {
        const summary = summarizeSlowloris(rounds, services.lbConfig.timeouts.clientHeadersMs);
        if (o.json) process.stdout.write(`${JSON.stringify({ options: o, rounds, summary }, null, 2)}\n`);
        else process.stdout.write(`${renderSlowlorisSummary(o, summary)}\n`);
      }
    }
  });
}

main(process.argv.slice(2)).catch((err: Error & { exitCode?: number }) => {
  process.stderr.write(`slowloris: ${err.message}\n`);
  process.exitCode = err.exitCode ?? 1;
});
