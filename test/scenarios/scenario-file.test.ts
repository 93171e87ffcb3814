import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError, UsageError } from '../../common/errors.js';
import { loadConfig } from '../../common/config.js';
import { PACKAGE_ROOT, SCENARIOS_DIR } from '../../common/paths.js';
import { listScenarios, loadScenarioFile, resolveScenarios, scenarioSettings } from '../../harness/plan/scenario-file.js';
import { kindProducesMetric, SCENARIO_KINDS } from '../../harness/scenarios/index.js';
import { itemAt } from '../../common/checked.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'lbbench-scenarios-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeScenario(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

function inputIssues(fn: () => unknown): InputError['issues'] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected an InputError');
}

/** The nine scenarios of the guide, in their run order. */
const BUNDLED = [
  'lat_conn',
  'latency_curve',
  'throughput',
  'failover',
  'distribution',
  'memory_profile',
  'connection_pooling',
  'latency_percentiles',
  'stability',
  'connections',
  'conn_rate',
  'conn_storm',
  'chaos',
];

describe('bundled scenario files', () => {
  const all = listScenarios();

  it('are the nine of the guide and the curve, connection-rate, storm and chaos scenarios, in order, one kind each', () => {
    assert.deepEqual(
      all.map((s) => s.name),
      BUNDLED,
    );
    for (const s of all) assert.equal(s.kind, s.name, `${s.file}: kind named after the scenario`);
    assert.deepEqual(Object.keys(SCENARIO_KINDS).sort(), [...BUNDLED].sort());
  });

  for (const name of BUNDLED) {
    it(`${name} loads and validates in both profiles`, () => {
      const s = all.find((x) => x.name === name)!;
      assert.equal(path.dirname(s.file), SCENARIOS_DIR);
      assert.match(s.description, /^[^\n]{10,120}$/);
      const full = scenarioSettings(s, false);
      const quick = scenarioSettings(s, true);
      assert.equal(typeof full, 'object');
      // Every quick override is applied.
      for (const [k, v] of Object.entries(s.quick)) assert.deepEqual(quick[k], v, `${name}: quick.${k}`);
    });
  }

  it('every threshold of config.yaml names a metric its scenario produces', () => {
    const config = loadConfig(path.join(PACKAGE_ROOT, 'config.yaml'));
    const sets = [config.thresholds, ...Object.values(config.profiles)];
    for (const set of sets) {
      for (const [scenario, thresholds] of Object.entries(set)) {
        const kind = all.find((s) => s.name === scenario)?.kind;
        assert.ok(kind, `config thresholds for unknown scenario ${scenario}`);
        for (const t of thresholds) {
          for (const expr of [t.target, t.excellent]) {
            if (!expr) continue;
            const metric = itemAt(expr.split(/\s/), 0, 'the metric of a threshold');
            assert.ok(kindProducesMetric(kind, metric), `${scenario}: ${metric}`);
          }
        }
      }
    }
  });

  it('the quick profile keeps at most ~20 s of load per scenario (by settings)', () => {
    // The settings fields these budgets read, as one shape: each kind has only its own.
    type Ms =
      | 'durationMs'
      | 'capacityDurationMs'
      | 'steadyMs'
      | 'outageMs'
      | 'recoveryMs'
      | 'capacityWarmupMs'
      | 'pointDurationMs'
      | 'warmupMs'
      | 'settleMs'
      | 'timeoutMs';
    type Budget = Record<Ms | 'requests' | 'rate' | 'maxExtraPoints', number> & {
      levels: number[];
      capacityFractions: number[];
      algorithms: unknown[];
      fractions: unknown[];
      direct: boolean;
    };
    const q = (n: string) =>
      scenarioSettings(
        all.find((s) => s.name === n)!,
        true,
      ) as unknown as Budget;
    const lat = q('lat_conn');
    assert.ok(lat.levels.length * (lat.durationMs * ((lat.direct ? 2 : 1) + lat.capacityFractions.length) + lat.capacityDurationMs) <= 20_000);
    assert.ok(lat.levels.includes(1000), 'p99_ms_c1000 needs the 1000 level');
    const f = q('failover');
    assert.ok(f.steadyMs + f.outageMs + f.recoveryMs <= 20_000);
    const d = q('distribution');
    assert.ok((d.requests / d.rate) * 1000 * (d.algorithms.length + 1) <= 20_000);
    const st = q('stability');
    assert.ok(st.durationMs <= 20_000);
    const c = q('connections');
    assert.ok(c.levels.length === 1 && (c.levels[0] ?? 0) >= 10_000 && c.durationMs <= 20_000);
    // latency_curve must finish in under 90 s with services: at most 12 points per curve, two curves.
    const lc = q('latency_curve');
    const points = lc.fractions.length + lc.maxExtraPoints;
    assert.ok(2 * (lc.capacityDurationMs + lc.capacityWarmupMs + points * (lc.pointDurationMs + lc.warmupMs)) <= 60_000);
    const cr = q('conn_rate');
    assert.ok(2 * (cr.durationMs + cr.warmupMs) <= 10_000);
    const cs = q('conn_storm');
    assert.ok(2 * (cs.settleMs + cs.timeoutMs + 1000) <= 12_000);
  });
});

describe('loadScenarioFile', () => {
  it('fills defaults from the kind schema and keeps the file as written', () => {
    const file = writeScenario(
      'ok.yaml',
      'name: my_latency\ndescription: mine\nkind: latency_percentiles\norder: 5\nsettings:\n  rate: 500\nquick:\n  durationMs: 1000\n',
    );
    const s = loadScenarioFile(file);
    assert.deepEqual(s.settings, { rate: 500 });
    assert.deepEqual(s.thresholds, []);
    assert.deepEqual(s.lb, {});
    const quick = scenarioSettings(s, true);
    assert.equal(quick['rate'], 500);
    assert.equal(quick['durationMs'], 1000);
    assert.equal(quick['path'], '/echo');
    assert.equal(scenarioSettings(s, false)['durationMs'], 60_000);
  });

  const bad: { name: string; text: string; line: number; path: string; message: RegExp }[] = [
    {
      name: 'a bad setting type, with its line',
      text: 'name: x\ndescription: d\nkind: lat_conn\norder: 1\nsettings:\n  levels: [100]\n  rate: fast\n',
      line: 7,
      path: 'settings.rate',
      message: /expected number.*got "fast"/,
    },
    {
      name: 'an unknown setting',
      text: 'name: x\ndescription: d\nkind: failover\norder: 1\nsettings:\n  rate: 100\n  victum: backend-8002\n',
      line: 7,
      path: 'settings.victum',
      message: /unknown key/,
    },
    {
      name: 'a bad quick override, at its line in quick',
      text: 'name: x\ndescription: d\nkind: throughput\norder: 1\nsettings:\n  connections: 10\nquick:\n  connections: -1\n',
      line: 8,
      path: 'quick.connections',
      message: /got -1/,
    },
    {
      name: 'an unknown kind',
      text: 'name: x\ndescription: d\nkind: nope\norder: 1\n',
      line: 3,
      path: 'kind',
      message: /expected one of lat_conn/,
    },
    {
      name: 'a description of two lines',
      text: 'name: x\ndescription: "one\\ntwo"\nkind: stability\norder: 1\n',
      line: 2,
      path: 'description',
      message: /one line/,
    },
    {
      name: 'an unknown top-level key',
      text: 'name: x\ndescription: d\nkind: stability\norder: 1\nduration: 5\n',
      line: 5,
      path: 'duration',
      message: /unknown key/,
    },
    {
      name: 'a bad balancer override',
      text: 'name: x\ndescription: d\nkind: stability\norder: 1\nlb:\n  pool:\n    keepAlive: maybe\n',
      line: 7,
      path: 'lb.pool.keepAlive',
      message: /got "maybe"/,
    },
    {
      name: 'a threshold on a metric the kind never produces',
      text: 'name: x\ndescription: d\nkind: throughput\norder: 1\nthresholds:\n  - { name: t, target: "p99_ms < 5" }\n',
      line: 6,
      path: 'thresholds[0].target',
      message: /unknown metric "p99_ms": not produced/,
    },
    {
      name: 'a malformed threshold',
      text: 'name: x\ndescription: d\nkind: throughput\norder: 1\nthresholds:\n  - name: t\n    target: "gigabytes_per_second >> 5"\n',
      line: 7,
      path: 'thresholds[0].target',
      message: /not a threshold expression/,
    },
    {
      name: 'a YAML syntax error',
      text: 'name: x\ndescription: d\nkind: [stability\norder: 1\n',
      line: 4,
      path: '',
      message: /YAML syntax/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} (InputError with file, line, path)`, () => {
      const file = writeScenario('bad.yaml', c.text);
      const issues = inputIssues(() => loadScenarioFile(file));
      const hit = issues.find((i) => i.path === c.path);
      assert.ok(hit, `no issue at ${c.path}: ${JSON.stringify(issues)}`);
      assert.equal(hit.file, file);
      assert.equal(hit.line, c.line);
      assert.match(hit.message, c.message);
    });
  }

  it('accepts valid balancer overrides and keeps them as written (no defaults filled)', () => {
    const file = writeScenario('lb.yaml', 'name: x\ndescription: d\nkind: stability\norder: 1\nlb:\n  workers: 4\n  pool: { keepAlive: false }\n');
    assert.deepEqual(loadScenarioFile(file).lb, { workers: 4, pool: { keepAlive: false } });
  });

  it('a missing file is an InputError naming it', () => {
    const file = path.join(tmp, 'absent.yaml');
    const issues = inputIssues(() => loadScenarioFile(file));
    assert.equal(issues[0]?.file, file);
    assert.match(issues[0]?.message, /not found/);
  });
});

describe('listScenarios and resolveScenarios', () => {
  const dir = mkdtempSync(path.join(tmp, 'dir-'));
  writeFileSync(path.join(dir, 'b.yaml'), 'name: bravo\ndescription: b\nkind: stability\norder: 2\n');
  writeFileSync(path.join(dir, 'a.yml'), 'name: alpha\ndescription: a\nkind: stability\norder: 3\n');
  writeFileSync(path.join(dir, 'c.yaml'), 'name: charlie\ndescription: c\nkind: stability\norder: 1\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'not a scenario');

  it('lists by order', () => {
    assert.deepEqual(
      listScenarios(dir).map((s) => s.name),
      ['charlie', 'bravo', 'alpha'],
    );
  });

  it('all = every scenario in order; names keep the order given', () => {
    assert.deepEqual(
      resolveScenarios(['all'], dir).map((s) => s.name),
      ['charlie', 'bravo', 'alpha'],
    );
    assert.deepEqual(
      resolveScenarios(['alpha', 'charlie', 'alpha'], dir).map((s) => s.name),
      ['alpha', 'charlie'],
    );
  });

  it('an unknown name is a UsageError listing the valid ones', () => {
    assert.throws(
      () => resolveScenarios(['alpha', 'zulu'], dir),
      (err: unknown) => err instanceof UsageError && /"zulu"/.test(err.message) && /charlie, bravo, alpha, all/.test(err.message),
    );
    assert.throws(() => resolveScenarios([], dir), UsageError);
    assert.throws(
      () => resolveScenarios(['failovr']),
      (err: unknown) => err instanceof UsageError && /failover/.test(err.message),
    );
  });

  it('a name used twice, and a broken file, are reported together', () => {
    const d2 = mkdtempSync(path.join(tmp, 'dup-'));
    writeFileSync(path.join(d2, 'a.yaml'), 'name: same\ndescription: a\nkind: stability\norder: 1\n');
    writeFileSync(path.join(d2, 'b.yaml'), 'name: same\ndescription: b\nkind: stability\norder: 2\n');
    writeFileSync(path.join(d2, 'c.yaml'), 'name: other\ndescription: c\nkind: stability\norder: x\n');
    const issues = inputIssues(() => listScenarios(d2));
    assert.ok(issues.some((i) => i.file.endsWith('b.yaml') && i.path === 'name' && i.line === 1 && /also the name/.test(i.message)));
    assert.ok(issues.some((i) => i.file.endsWith('c.yaml') && i.path === 'order' && i.line === 4));
  });
});

describe('kindProducesMetric', () => {
  const cases: [string, string, boolean][] = [
    ['lat_conn', 'p99_ms_c1000', true],
    ['lat_conn', 'p99_ratio_c1000', true],
    ['lat_conn', 'p99_ms_c', false],
    ['lat_conn', 'p99_ms_cx', false],
    ['throughput', 'gigabytes_per_second', true],
    ['throughput', 'throughput_ratio', true],
    ['failover', 'detection_ms', true],
    ['failover', 'client_errors', true],
    ['distribution', 'deviation_pct', true],
    ['connections', 'active_connections_peak', true],
    ['connections', 'connections_served', true],
    ['latency_percentiles', 'p99_ratio', true],
    ['connection_pooling', 'reuse_ratio', true],
    ['memory_profile', 'rss_slope_mb_per_min', true],
    ['stability', 'worker_restarts', true],
    ['stability', 'error_rate', true],
    ['nope', 'error_rate', false],
  ];
  for (const [kind, metric, want] of cases) {
    it(`${kind} ${want ? 'produces' : 'does not produce'} ${metric}`, () => assert.equal(kindProducesMetric(kind, metric), want));
  }
});
