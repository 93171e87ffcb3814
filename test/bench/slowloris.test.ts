/**
 * The slowloris bench's pure parts (flags, summary, text) and its swarm
 * against a real node:http server with a short header timeout: a few
 * sockets, no load (the bench itself stays out of the suite).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../common/errors.js';
import {
  parseSlowlorisArgs,
  renderSlowlorisSummary,
  summarizeSlowloris,
  type SlowlorisBenchOptions,
  type SlowlorisRound,
  type TrafficRun,
} from '../../bench/slowloris-report.js';
import { SlowlorisSwarm } from '../../bench/slowloris-swarm.js';

function options(argv: string[]): SlowlorisBenchOptions {
  const o = parseSlowlorisArgs(argv);
  assert.notEqual(o, 'help');
  return o as SlowlorisBenchOptions;
}

test('slowloris flags: the defaults of the goal (2,000 req/s, c=100, 10 s, 1,000 connections, 3 rounds)', () => {
  assert.deepEqual(options([]), {
    rounds: 3,
    slow: 1000,
    rate: 2000,
    connections: 100,
    durationMs: 10_000,
    warmupMs: 1000,
    byteIntervalMs: 3000,
    leadMs: 5000,
    cutWaitMs: 40_000,
    json: false,
  });
  const o = options(['--rounds', '5', '--slow', '200', '--rate', '500', '--duration', '2s', '--json', '--cut-wait', '0', '--lead', '500ms']);
  assert.equal(o.rounds, 5);
  assert.equal(o.slow, 200);
  assert.equal(o.rate, 500);
  assert.equal(o.durationMs, 2000);
  assert.equal(o.cutWaitMs, 0);
  assert.equal(o.leadMs, 500);
  assert.equal(o.json, true);
  assert.equal(parseSlowlorisArgs(['--help']), 'help');
});

test('slowloris flags: bad values are UsageErrors naming the flag and the value', () => {
  const cases: [string[], RegExp][] = [
    [['--rounds', '0'], /--rounds: "0" is not a whole number >= 1/],
    [['--slow', '1.5'], /--slow: "1.5"/],
    [['--rate', '0'], /--rate: "0" is not a rate > 0/],
    [['--duration', 'soon'], /--duration: "soon" is not a duration/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /positional/],
  ];
  for (const [argv, message] of cases)
    assert.throws(
      () => parseSlowlorisArgs(argv),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
      argv.join(' '),
    );
});

const traffic = (p99Ms: number, errors = 0, generatorSaturated = false): TrafficRun => ({
  p50Ms: p99Ms / 4,
  p99Ms,
  requests: 20_000,
  errors,
  errorKinds: errors > 0 ? { timeout: errors } : {},
  generatorSaturated,
  p99BySecondMs: [p99Ms],
});

const round = (without: TrafficRun, withAttack: TrafficRun, cutAfterMs: number[]): SlowlorisRound => ({
  without,
  with: withAttack,
  attack: {
    openMin: 990,
    openMax: 1000,
    cutsDuringTraffic: cutAfterMs.length,
    counts: {
      opened: 1000 + cutAfterMs.length,
      openNow: 1000,
      cuts: cutAfterMs.length,
      cutAfterMs,
      statuses: { '408': cutAfterMs.length },
      connectErrors: 0,
      bytesTrickled: 5000,
    },
  },
});

test('slowloris summary: same-round p99 ratios, their median against 1.5, errors with the attack fail the goal', () => {
  const rounds = [round(traffic(2), traffic(2.4), [10_500, 11_000]), round(traffic(4), traffic(8), [12_000]), round(traffic(2), traffic(2.2), [])];
  const s = summarizeSlowloris(rounds, 10_000);
  assert.deepEqual(
    s.p99Ratio.map((r) => Number(r.toFixed(3))),
    [1.2, 2, 1.1],
  );
  assert.deepEqual(s.cuts, [2, 1, 0]);
  assert.deepEqual(s.cutAfterMs, [10_500, 11_000, 12_000]);
  assert.deepEqual(s.statuses, { '408': 3 });
  assert.equal(s.goalMet, true, 'median ratio 1.2, no errors');
  const text = renderSlowlorisSummary(options([]), s);
  assert.match(text, /p99 without: +2\.00 \[2\.00-4\.00\] ms/);
  assert.match(text, /p99 ratio: +1\.20 \[1\.10-2\.00\] \(goal <= 1\.5\)/);
  assert.match(text, /slowloris cut: +1 \[0-2\] per run .*after 11\.0 \[10\.5-12\.0\] s \(clientHeadersMs 10 s\); answered 3 x 408/);
  assert.match(text, /goal .*: met$/);

  const withErrors = summarizeSlowloris([round(traffic(2), traffic(2, 3), [])], 10_000);
  assert.equal(withErrors.goalMet, false);
  const saturated = summarizeSlowloris([round(traffic(2, 0, true), traffic(2), [])], 10_000);
  assert.equal(saturated.goalMet, false);
  assert.match(renderSlowlorisSummary(options([]), saturated), /WARNING: the generator could not keep up in 1 run/);
  assert.throws(() => summarizeSlowloris([], 10_000), RangeError);
});

test('slowloris swarm: partial heads trickle, a server that cuts them (408) sees them reconnect; stop() closes all', async () => {
  let requests = 0;
  const server = http.createServer({ connectionsCheckingInterval: 50 }, (_req, res) => {
    requests++;
    res.end('ok');
  });
  server.headersTimeout = 300;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const swarm = new SlowlorisSwarm({ host: '127.0.0.1', port, connections: 3, byteIntervalMs: 40, random: () => 0.5 });
  try {
    await swarm.open();
    assert.equal(swarm.snapshot().openNow, 3);
    const deadline = Date.now() + 10_000;
    while (swarm.snapshot().cuts < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const s = swarm.snapshot();
    assert.ok(s.cuts >= 6, `cut twice each: ${JSON.stringify(s)}`);
    assert.ok(s.opened >= 6, 'reconnected after each cut');
    assert.ok((s.statuses['408'] ?? 0) >= 1, `the server answered 408: ${JSON.stringify(s.statuses)}`);
    assert.ok(s.bytesTrickled > 0);
    for (const ms of s.cutAfterMs) assert.ok(ms >= 250, `cut after ${ms} ms, not before the 300 ms header timeout`);
    assert.equal(requests, 0, 'no head was ever completed');
  } finally {
    await swarm.stop();
    server.close();
  }
  assert.equal(swarm.snapshot().openNow, 0);
  const cuts = swarm.snapshot().cuts;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(swarm.snapshot().cuts, cuts, 'no reconnect after stop');
});
