import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALGORITHMS, parseConfigText, type LbConfig } from '../../common/config.js';
import { InputError } from '../../common/errors.js';
import { renderHaproxyConfig, haproxyWeights } from '../../harness/services/targets/haproxy-config.js';
import { renderNginxConfig } from '../../harness/services/targets/nginx-config.js';
import { programPath, runProgram, skipWithout } from './target-helpers.js';
import { itemAt } from '../../common/checked.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lbbench-target-configs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = `
lb:
  listen: { host: 127.0.0.1, port: 18080 }
  metrics: { host: 127.0.0.1, port: 19090 }
  workers: 2
  backends:
    - { name: backend-8001, url: "http://127.0.0.1:8001", weight: 5 }
    - { name: backend-8002, url: "http://127.0.0.1:8002", weight: 3 }
    - { name: backend-8003, url: "http://127.0.0.1:8003", weight: 2 }
`;

function lbWith(extra: Partial<LbConfig> = {}): LbConfig {
  return { ...parseConfigText('base.yaml', BASE).lb, ...extra };
}

describe('rendered nginx configs', () => {
  test('map each algorithm onto its nginx directive, weights and passive health', () => {
    const text = (a: (typeof ALGORITHMS)[number]): string => renderNginxConfig(lbWith({ algorithm: a }), '/tmp/x');
    assert.match(text('power_of_two_choices'), /^\s+random two least_conn;$/m);
    assert.match(text('least_connections'), /^\s+least_conn;$/m);
    assert.match(text('random'), /^\s+random;$/m);
    assert.match(text('consistent_hash'), /^\s+hash \$remote_addr consistent;$/m);
    assert.match(text('weighted_round_robin'), /server 127\.0\.0\.1:8001 weight=5 max_fails=1 fail_timeout=1s;/);
    assert.match(text('round_robin'), /server 127\.0\.0\.1:8001 weight=1 /);
    const t = text('weighted_round_robin');
    assert.match(t, /pid \/tmp\/x\/nginx\.pid;/);
    assert.match(t, /keepalive 128;/);
    assert.match(t, /proxy_next_upstream_tries 3;/);
    assert.match(t, /proxy_next_upstream_timeout 15000ms;/);
    assert.match(t, /listen 127\.0\.0\.1:19090;[\s\S]*stub_status;/);
    assert.doesNotMatch(t, /\/etc\/nginx|\/var\/log/);
    const noPool = renderNginxConfig(lbWith({ pool: { keepAlive: false, maxConnections: 128, idleTimeoutMs: 60_000, maxQueue: 1024 } }), '/tmp/x');
    assert.doesNotMatch(noPool, /keepalive \d/);
    assert.match(noPool, /proxy_set_header Connection "close";/);
  });

  test('every algorithm passes nginx -t', { skip: skipWithout('nginx') }, () => {
    const dir = path.join(tmp, 'nginx');
    for (const sub of ['logs', 'client_body_temp', 'proxy_temp', 'fastcgi_temp', 'uwsgi_temp', 'scgi_temp'])
      mkdirSync(path.join(dir, sub), { recursive: true });
    for (const algorithm of ALGORITHMS) {
      const file = path.join(dir, `${algorithm}.conf`);
      writeFileSync(file, renderNginxConfig(lbWith({ algorithm }), dir));
      const r = runProgram(programPath('nginx')!, ['-p', dir, '-e', 'stderr', '-c', file, '-t']);
      assert.equal(r.code, 0, `${algorithm}: ${r.output}`);
      assert.match(r.output, /test is successful/);
    }
  });
});

describe('rendered HAProxy configs', () => {
  test('map each algorithm onto its balance line, health checks, pool and retries', () => {
    const text = (a: (typeof ALGORITHMS)[number]): string => renderHaproxyConfig(lbWith({ algorithm: a }));
    assert.match(text('power_of_two_choices'), /^\s+balance random\(2\)$/m);
    assert.match(text('least_connections'), /^\s+balance leastconn$/m);
    assert.match(text('consistent_hash'), /balance source\n\s+hash-type consistent/);
    const t = text('weighted_round_robin');
    assert.match(t, /server backend-8001 127\.0\.0\.1:8001 weight 5 check inter 250ms rise 2 fall 2 observe layer4/);
    assert.match(t, /option httpchk GET \/health/);
    assert.match(t, /nbthread 2/);
    assert.match(t, /retries 2/);
    assert.match(t, /timeout queue 15000ms/);
    assert.match(t, /http-request use-service prometheus-exporter if \{ path \/metrics \}/);
    assert.match(t, /bind 127\.0\.0\.1:19090/);
    assert.match(text('round_robin'), /backend-8001 127\.0\.0\.1:8001 weight 1 /);
    assert.match(renderHaproxyConfig(lbWith({ pool: { keepAlive: false, maxConnections: 1, idleTimeoutMs: 1, maxQueue: 1024 } })), /option http-server-close/);
  });

  test('weights above 256 are scaled into HAProxy range', () => {
    const lb = lbWith();
    lb.backends = lb.backends.map((b, i) => ({ ...b, weight: itemAt([1000, 500, 1], i, 'a test weight') }));
    assert.deepEqual(haproxyWeights(lb), [256, 128, 1]);
  });

  test('every algorithm passes haproxy -c', { skip: skipWithout('haproxy') }, () => {
    for (const algorithm of ALGORITHMS) {
      const file = path.join(tmp, `haproxy-${algorithm}.cfg`);
      writeFileSync(file, renderHaproxyConfig(lbWith({ algorithm })));
      const r = runProgram(programPath('haproxy')!, ['-c', '-f', file]);
      assert.equal(r.code, 0, `${algorithm}: ${r.output}`);
      assert.match(r.output, /Configuration file is valid/);
    }
  });
});

describe('targets: in the config', () => {
  test('command and attach declarations validate, with defaults', () => {
    const c = parseConfigText(
      'c.yaml',
      `${BASE}
targets:
  my-nginx: { kind: command, command: [nginx, -c, "{config}"], configTemplate: ./my.conf, metricsUrl: "http://127.0.0.1:19090/stub_status", metricsFormat: stub_status }
  prod: { kind: attach, url: "http://127.0.0.1:9000" }
  nginx-opt: { kind: nginx, binary: /opt/nginx/sbin/nginx }
`,
    );
    assert.equal(c.targets['my-nginx']?.kind, 'command');
    assert.equal(c.targets['prod']?.kind === 'attach' && c.targets['prod']?.metricsFormat, 'lbbench');
  });

  test('a bad declaration is an InputError naming file, line and field', () => {
    assert.throws(
      () => parseConfigText('c.yaml', `${BASE}\ntargets:\n  x: { kind: command, command: [] }\n  y: { kind: teapot }\n`),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.match(err.message, /c\.yaml:\d+: targets\.x\.command: /);
        assert.match(err.message, /c\.yaml:\d+: targets\.y\.kind: /);
        return true;
      },
    );
  });
});
