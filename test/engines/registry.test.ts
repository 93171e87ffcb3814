import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { DEFAULT_ENGINES, ENGINES, engineCapabilities, engineNames, enginesWhere, engineVersions, getEngine } from '../../harness/engines/index.js';
import { findOnPath } from '../../harness/engines/external-binary.js';
import { UsageError } from '../../common/errors.js';
import { PACKAGE_ROOT } from '../../common/paths.js';

/** Runs `fn` with PATH pointing nowhere, so no binary is found. */
async function withoutPath<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent-lbbench-test';
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test('the registry maps every engine name to a factory of that engine', () => {
  assert.deepEqual(engineNames(), ['open-loop', 'autocannon', 'wrk', 'closed-loop']);
  for (const name of engineNames()) {
    const engine = ENGINES[name]();
    assert.equal(engine.name, name);
    assert.equal(engine.loadModel, name === 'open-loop' ? 'open' : 'closed');
  }
});

test('getEngine returns the embedded engines', async () => {
  assert.equal((await getEngine('autocannon')).name, 'autocannon');
  assert.equal((await getEngine('open-loop')).name, 'open-loop');
  assert.equal((await getEngine('closed-loop')).name, 'closed-loop');
});

test('getEngine rejects an unknown name, listing the valid ones', async () => {
  await assert.rejects(getEngine('wrk2'), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /unknown engine "wrk2"/);
    assert.match(err.message, /open-loop, autocannon, wrk/);
    return true;
  });
});

test('getEngine rejects wrk when it is not on PATH, saying how to install it', async () => {
  await withoutPath(async () => {
    assert.equal(await ENGINES.wrk().available(), false);
    await assert.rejects(getEngine('wrk'), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /apt-get install -y wrk/);
      return true;
    });
  });
});

test('engineVersions: autocannon package, lbbench for open-loop, wrk only when installed', async () => {
  const require = createRequire(import.meta.url);
  const acVersion = (JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }).version;
  const ownVersion = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const versions = await engineVersions();
  assert.equal(versions.autocannon, acVersion);
  assert.equal(versions['open-loop'], ownVersion);
  assert.equal(versions['closed-loop'], ownVersion);
  if (findOnPath('wrk')) assert.match(versions.wrk ?? '', /\d+\.\d+/);
  else assert.equal(versions.wrk, undefined);
  const without = await withoutPath(() => engineVersions());
  assert.equal(without.wrk, undefined);
});

test('every engine declares its capabilities, and the registry lists them in its order', () => {
  const listed = engineCapabilities();
  assert.deepEqual(
    listed.map((e) => e.name),
    engineNames(),
  );
  for (const e of listed) {
    const engine = ENGINES[e.name]();
    assert.deepEqual(e.capabilities, engine.capabilities, e.name);
    assert.equal(e.loadModel, engine.loadModel, e.name);
    assert.ok(e.capabilities.summary.length > 0, `${e.name} has a summary`);
    // An open loop needs a rate; a closed loop takes none or caps it.
    assert.equal(e.capabilities.rate === 'required', e.loadModel === 'open', e.name);
  }
  assert.deepEqual(
    enginesWhere((c) => c.multiProcess),
    listed.filter((e) => e.capabilities.multiProcess).map((e) => e.name),
  );
  assert.deepEqual(
    enginesWhere((c) => c.binary !== undefined),
    ['wrk'],
  );
  assert.equal(ENGINES[DEFAULT_ENGINES.withRate]().capabilities.rate, 'required');
  assert.notEqual(ENGINES[DEFAULT_ENGINES.withoutRate]().capabilities.rate, 'required');
});

test('an engine that needs a binary says how to install it and which embedded engines do the same job', async () => {
  await withoutPath(async () => {
    await assert.rejects(getEngine('wrk'), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      const closedEmbedded = enginesWhere((c, model) => c.binary === undefined && model === 'closed');
      assert.ok(closedEmbedded.length > 0);
      assert.match(err.message, new RegExp(`or use --engine ${closedEmbedded.join(' or ')}$`));
      return true;
    });
  });
});
