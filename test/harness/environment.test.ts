import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/paths.js';
import { engineVersions } from '../../harness/engines/index.js';
import { collectEnvironment } from '../../harness/sampling/environment.js';

test('collectEnvironment describes this machine and package', async () => {
  const env = await collectEnvironment(engineVersions);
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(env.lbbench, pkg.version);
  assert.equal(env.node, process.version);
  assert.equal(env.kernel, os.release());
  assert.equal(env.hostname, os.hostname());
  assert.equal(env.memoryBytes, os.totalmem());
  assert.ok(env.cores >= 1);
  assert.ok(env.cpuModel.length > 0);
  assert.match(env.platform, new RegExp(`^${process.platform}-`));
  // The built-in engines always have a version (the package's); an empty map
  // means the engine registry could not be loaded.
  assert.equal(env.engines['open-loop'], pkg.version);
  assert.equal(env.engines['closed-loop'], pkg.version);
  for (const v of Object.values(env.engines)) assert.equal(typeof v, 'string');
  if (env.gitCommit !== undefined) assert.match(env.gitCommit, /^[0-9a-f]{40,64}$/);
  // Plain data: survives a JSON round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(env)), env);
});

test('collectEnvironment never rejects: engine versions that cannot be read are {}', async () => {
  const env = await collectEnvironment(() => Promise.reject(new Error('no registry')));
  assert.deepEqual(env.engines, {});
  assert.equal(env.node, process.version);
});
