import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, formatProgress, loadPhase } from '../../harness/run/progress.js';

/** A fake clock and timer: `tick(ms)` advances time and fires the interval. */
function fakeTimers() {
  let nowMs = 1_000_000;
  let fn: (() => void) | undefined;
  let period = 0;
  let sinceFire = 0;
  return {
    now: () => nowMs,
    setInterval: (f: () => void, ms: number) => {
      fn = f;
      period = ms;
      return {};
    },
    clearInterval: () => (fn = undefined),
    tick(ms: number) {
      for (let i = 0; i < ms; i += 50) {
        nowMs += 50;
        sinceFire += 50;
        if (fn && sinceFire >= period) {
          sinceFire = 0;
          fn();
        }
      }
    },
    get running() {
      return fn !== undefined;
    },
  };
}

test('loadPhase: direct loads are the baseline, warm-up loads say so', () => {
  assert.equal(loadPhase('direct c100 open-loop'), 'baseline');
  assert.equal(loadPhase('lb warm-up'), 'warm-up');
  assert.equal(loadPhase('lb c100 open-loop'), 'load');
});

test('formatProgress: scenario i of n, phase, elapsed and remaining, live figures', () => {
  const base = { index: 2, total: 9, scenario: 'lat_conn', scenarioStartMs: 0 };
  assert.equal(formatProgress(base, 41_000), '[2/9] lat_conn 41s | between loads');
  const load = { label: 'lb c500 open-loop', phase: 'load' as const, startMs: 30_000, warmupMs: 2000, durationMs: 10_000 };
  assert.equal(formatProgress({ ...base, load }, 31_000), '[2/9] lat_conn 31s | warm-up 1s, 11s left | lb c500 open-loop');
  assert.equal(
    formatProgress({ ...base, load, live: { requestsPerSecond: 1002.4, errors: 3, p99Us: 7480 } }, 36_000),
    '[2/9] lat_conn 36s | load 6s, 6s left | 1002 req/s, 3 err, p99 7.48 ms | lb c500 open-loop',
  );
  assert.match(formatProgress({ ...base, load }, 200_000), /3m20s \| load 2m50s, finishing \| lb c500 open-loop$/);
});

test('tty: the status line is redrawn in place, erased around other output and at the end', () => {
  const t = fakeTimers();
  let screen = '';
  const p = createProgress({ mode: 'tty', write: (s) => (screen += s), now: t.now, setInterval: t.setInterval, clearInterval: t.clearInterval, redrawMs: 250 });
  p.scenarioStarted(1, 2, 'failover');
  p.loadStarted('lb steady GET', { url: 'http://127.0.0.1:8080/', connections: 50, durationMs: 20_000, rate: 1000, seriesIntervalMs: 100 });
  for (let i = 0; i < 12; i++) p.bucket({ tMs: i * 100, requests: 100, errors: i === 11 ? 2 : 0, bytes: 0, p99Us: i === 5 ? 9000 : 2000 });
  screen = '';
  t.tick(1000);
  const draws = screen.split('\r\u001b[2K').filter(Boolean);
  assert.equal(draws.length, 4, 'four redraws a second');
  assert.doesNotMatch(screen, /\n/, 'in place: no newline');
  // The last second is the newest ten 100 ms buckets.
  assert.equal(draws[draws.length - 1], '[1/2] failover 1s | load 1s, 19s left | 1000 req/s, 2 err, p99 9 ms | lb stead…');

  screen = '';
  p.wrap((s: string) => (screen += s))('Killing backend-8002...\n');
  assert.match(screen, /^\r\u001b\[2KKilling backend-8002\.\.\.\n\r\u001b\[2K\[1\/2\] failover/);
  screen = '';
  p.scenarioFinished();
  assert.equal(screen, '\r\u001b[2K');
  assert.equal(t.running, false);
});

test('plain: one line every 10 s, none for a short scenario', () => {
  const t = fakeTimers();
  const lines: string[] = [];
  const p = createProgress({ mode: 'plain', write: (s) => lines.push(s), now: t.now, setInterval: t.setInterval, clearInterval: t.clearInterval });
  p.scenarioStarted(1, 1, 'tiny');
  t.tick(3000);
  assert.deepEqual(lines, []);
  p.loadStarted('lb', { url: 'http://127.0.0.1:8080/', connections: 10, durationMs: 30_000 });
  t.tick(21_000);
  assert.equal(lines.length, 2);
  for (const l of lines) assert.match(l, /^progress: \[1\/1\] tiny \d+s \| load \d+s, \d+s left \| lb\n$/);
  p.stop();
  assert.equal(t.running, false);
  p.stop();
});
