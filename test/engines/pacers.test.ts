import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHistogram } from '../../harness/result/histogram.js';
import { monoNowMs } from '../../harness/engines/generator/clock.js';
import { ClosedPacer } from '../../harness/engines/generator/closed-pacer.js';
import { OpenPacer } from '../../harness/engines/generator/open-pacer.js';
import type { RunWindow, SendTarget } from '../../harness/engines/generator/pacer.js';
import type { GeneratorSpec } from '../../harness/engines/generator/protocol.js';
import { Recorder } from '../../harness/engines/generator/recorder.js';
import type { BucketReport } from '../../harness/engines/generator/protocol.js';

/** A send target with `free` idle slots that records every send. */
function fakeTarget(free: number): SendTarget & { sends: { slot: number; intendedMs: number; now: number; recorded: boolean }[]; free: number[] } {
  const t = {
    free: Array.from({ length: free }, (_, i) => i),
    sends: [] as { slot: number; intendedMs: number; now: number; recorded: boolean }[],
    takeFree: () => t.free.shift() ?? -1,
    send: (slot: number, intendedMs: number, now: number, recorded: boolean) => void t.sends.push({ slot, intendedMs, now, recorded }),
  };
  return t;
}

function spec(over: Partial<GeneratorSpec> = {}): GeneratorSpec {
  return {
    mode: 'open',
    processIndex: 0,
    processCount: 1,
    url: 'http://127.0.0.1:1/',
    method: 'GET',
    headers: {},
    connections: 4,
    totalRate: 1000,
    warmupMs: 2,
    durationMs: 10,
    seriesIntervalMs: 1000,
    timeoutMs: 5,
    sourceAddresses: [],
    transport: 'net',
    ticker: 'timer',
    minTickUs: 200,
    lateThresholdUs: 1000,
    connectConcurrency: 4,
    maxSchedulerLagP99Us: 10_000,
    maxCpuPercent: 90,
    ...over,
  };
}

/** `x` ms rounded to µs (monotonic times are large floats). */
const ms = (x: number): number => Math.round(x * 1000) / 1000;

/** A window far in the future, so the pacer's own ticker or timer never fires during the test. */
function farWindow(s: GeneratorSpec): RunWindow {
  const startMs = monoNowMs() + 3_600_000;
  return { startMs, windowStartMs: startMs + s.warmupMs, windowEndMs: startMs + s.warmupMs + s.durationMs };
}

test('open pacer: sends each slot at its intended time, counts from the window, queues when no slot is free', () => {
  const s = spec();
  const w = farWindow(s);
  const pacer = new OpenPacer(s);
  pacer.start(w, () => assert.fail('the ticker must not fire'));
  try {
    const t = fakeTarget(2);
    // Nothing is due before the start.
    pacer.dispatch(w.startMs - 0.5, t);
    assert.equal(t.sends.length, 0);
    // At +3.5 ms slots 0..3 (at 0, 1, 2, 3 ms) are due; two slots are free.
    pacer.dispatch(w.startMs + 3.5, t);
    assert.deepEqual(
      t.sends.map((x) => [x.slot, ms(x.intendedMs - w.startMs), x.recorded]),
      [
        [0, 0, false],
        [1, 1, false],
      ],
    );
    assert.equal(pacer.wantsIdleSlot(), true, 'two sends wait for a connection');
    // A slot comes free: the waiting send leaves, with latency still from its intended time.
    t.free.push(0);
    pacer.dispatch(w.startMs + 3.6, t);
    assert.deepEqual(t.sends.at(-1), { slot: 0, intendedMs: w.startMs + 2, now: w.startMs + 3.6, recorded: true });
    t.free.push(1, 2, 3);
    pacer.dispatch(w.startMs + 3.7, t);
    assert.equal(t.sends.length, 4);
    assert.equal(pacer.wantsIdleSlot(), false);
    assert.equal(pacer.drained(w.windowEndMs, w.windowEndMs + 100), false, 'slots 4..11 not yet noticed');
    // Slots 4..9 come due; slot 4 (4 ms) waited past the 5 ms timeout at +9.5 ms and is dropped.
    t.free.push(4, 5);
    pacer.dispatch(w.startMs + 9.5, t);
    const report = pacer.scheduleReport();
    assert.equal(report.dropped, 1);
    // Four free slots: 5, 6, 7, 8 leave; 9 waits.
    assert.deepEqual(
      t.sends.slice(4).map((x) => ms(x.intendedMs - w.startMs)),
      [5, 6, 7, 8],
    );
    // After the window, whatever still waits is dropped by close().
    pacer.dispatch(w.windowEndMs + 1, fakeTarget(0));
    assert.equal(pacer.drained(w.windowEndMs + 1, w.windowEndMs + 100), false);
    assert.equal(pacer.drained(w.windowEndMs + 100, w.windowEndMs + 100), true, 'past the drain deadline');
    pacer.close();
    const final = pacer.scheduleReport();
    // 10 window slots (2..11): 6 sent, slot 4 dropped by timeout, 9, 10, 11 dropped at close.
    assert.equal(final.dropped, 4);
    // Lateness of the 6 sent window requests: 1.6, 0.7, 4.5, 3.5, 2.5, 1.5 ms; late > 1 ms: 5 of them.
    assert.equal(decodeHistogram(final.latenessHistogram).totalCount, 6);
    assert.equal(final.late, 5);
    assert.ok(final.schedulerLagP99Us > 0, 'the loop noticed slots late');
  } finally {
    pacer.stop();
  }
});

test('open pacer: with several processes, each sends its own share of one schedule', () => {
  const intended: number[][] = [];
  for (const k of [0, 1]) {
    const s = spec({ processIndex: k, processCount: 2, totalRate: 1000, warmupMs: 0, durationMs: 6, timeoutMs: 100 });
    const w = farWindow(s);
    const pacer = new OpenPacer(s);
    pacer.start(w, () => {});
    const t = fakeTarget(10);
    pacer.dispatch(w.startMs + 5.5, t);
    pacer.stop();
    intended.push(t.sends.map((x) => ms(x.intendedMs - w.startMs)));
  }
  assert.deepEqual(intended, [
    [0, 2, 4],
    [1, 3, 5],
  ]);
});

test('closed pacer: every idle slot sends at once inside the run, counted inside the window only', () => {
  const s = spec({ mode: 'closed', totalRate: 0 });
  const w = farWindow(s);
  const pacer = new ClosedPacer();
  pacer.start(w, () => assert.fail('the start timer must not fire'));
  try {
    const before = fakeTarget(3);
    pacer.dispatch(w.startMs - 1, before);
    assert.equal(before.sends.length, 0, 'nothing before the start');
    const warm = fakeTarget(2);
    pacer.dispatch(w.startMs + 1, warm);
    assert.deepEqual(
      warm.sends.map((x) => [x.slot, x.recorded, x.intendedMs === x.now]),
      [
        [0, false, true],
        [1, false, true],
      ],
    );
    const inWindow = fakeTarget(3);
    pacer.dispatch(w.windowStartMs, inWindow);
    assert.deepEqual(
      inWindow.sends.map((x) => x.recorded),
      [true, true, true],
    );
    const after = fakeTarget(3);
    pacer.dispatch(w.windowEndMs, after);
    assert.equal(after.sends.length, 0, 'nothing from the end of the window');
    assert.equal(pacer.wantsIdleSlot(), true);
    assert.equal(pacer.drained(), true);
    assert.equal(pacer.scheduleReport(), undefined, 'a closed loop has no schedule');
  } finally {
    pacer.stop();
  }
});

test('recorder: latency from the given time, buckets in order, the drain lands in the last bucket', () => {
  const buckets: BucketReport[] = [];
  const r = new Recorder(300, 100, (b) => buckets.push(b));
  const w0 = 1000;
  r.begin(w0);
  r.countSent();
  r.recordResponse(w0 + 10, w0 + 12.5, { status: 200, bytes: 100, close: false });
  r.recordResponse(w0 + 150, w0 + 151, { status: 503, bytes: 10, close: false });
  assert.deepEqual(
    buckets.map((b) => [b.index, b.requests]),
    [[0, 1]],
    'bucket 0 closed by a completion in bucket 1',
  );
  r.countError('reset', w0 + 420);
  const m = r.finish();
  assert.deepEqual(
    buckets.map((b) => [b.index, b.requests, b.errors, b.bytes]),
    [
      [0, 1, 0, 100],
      [1, 1, 1, 10],
      [2, 0, 1, 0],
    ],
  );
  assert.equal(m.requests, 2);
  assert.equal(m.sent, 1);
  assert.deepEqual(m.errors, { non2xx: 1, reset: 1 });
  assert.deepEqual(m.statusCounts, { '200': 1, '503': 1 });
  assert.equal(m.durationMs, 420, 'the window stretches to the last recorded event');
  const h = decodeHistogram(m.histogram);
  assert.equal(h.totalCount, 2);
  assert.ok(Math.abs(h.maxValue - 2500) <= 3, `max ${h.maxValue} µs`);
});
