import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BIN_PATH } from '../../common/paths.js';
import { UsageError } from '../../common/errors.js';
import { checkEngineFlags, engineOption, enginesHelp, multiProcessEngines } from '../../harness/cli/engine-flags.js';
import { engineCapabilities, engineNames } from '../../harness/engines/index.js';

/** Runs `lbbench ...` for real; resolves with its exit code and output. */
function lbbench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN_PATH, ...args], { timeout: 20_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** Nothing listens on port 1: a check that lets a run through would fail to connect, not hang. */
const URL_OK = 'http://127.0.0.1:1/';

test("--engine offers exactly the registry's engines, and --help describes each from its capabilities", () => {
  assert.deepEqual(engineOption('x').argChoices, engineNames());
  const help = enginesHelp();
  for (const { name, capabilities } of engineCapabilities()) {
    const line = help.split('\n').find((l) => l.trimStart().startsWith(`${name} `));
    assert.ok(line, `${name} is listed`);
    assert.ok(line.includes(capabilities.summary), `${name}: its summary`);
    if (capabilities.binary) assert.ok(help.includes(`needs \`${capabilities.binary.name}\`: ${capabilities.binary.install}`), `${name}: how to install it`);
  }
});

test("flag checks follow each engine's capabilities", () => {
  const multi = engineCapabilities()
    .filter((e) => e.capabilities.multiProcess)
    .map((e) => e.name);
  assert.equal(multiProcessEngines(), multi.join(' or '));
  for (const { name, capabilities: caps } of engineCapabilities()) {
    const rate = caps.rate === 'none' ? undefined : 100;
    // A spec the engine can take passes.
    checkEngineFlags(name, { processes: 1, ...(rate === undefined ? {} : { rate }) });
    const processes = (): void => checkEngineFlags(name, { processes: 2, ...(rate === undefined ? {} : { rate }) });
    if (caps.multiProcess) processes();
    else
      assert.throws(
        processes,
        (err: unknown) =>
          err instanceof UsageError &&
          err.message === `--processes: only --engine ${multi.join(' or ')} runs several generator processes (got --engine ${name})`,
      );
    if (caps.rate === 'none') assert.throws(() => checkEngineFlags(name, { rate: 100 }), /^UsageError: --rate: --engine \S+ takes no rate/);
    else checkEngineFlags(name, { rate: 100 });
    if (caps.rate === 'required') assert.throws(() => checkEngineFlags(name, {}), new RegExp(`--engine ${name} needs --rate`));
    else checkEngineFlags(name, {});
  }
});

test('the real CLI: load --help lists every engine; bad engine flags exit 2 naming the engines that would do', async () => {
  const help = await lbbench(['load', '--help']);
  assert.equal(help.code, 0, help.stderr);
  const lines = help.stdout.split('\n');
  for (const { name, capabilities } of engineCapabilities()) {
    assert.ok(
      lines.some((l) => l.trimStart().startsWith(`${name} `) && l.endsWith(capabilities.summary)),
      `${name} in load --help`,
    );
  }
  // commander wraps the choices; compare them without the line breaks.
  assert.ok(
    help.stdout.replace(/\s+/g, ' ').includes(
      `(choices: ${engineNames()
        .map((n) => `"${n}"`)
        .join(', ')})`,
    ),
    "the choices are the registry's",
  );

  const unknown = await lbbench(['load', URL_OK, '--engine', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, new RegExp(`Allowed choices are ${engineNames().join(', ')}`));

  const single = engineCapabilities().find((e) => !e.capabilities.multiProcess);
  assert.ok(single, 'some engine runs one process');
  const processes = await lbbench([
    'load',
    URL_OK,
    '--engine',
    single.name,
    '--processes',
    '2',
    ...(single.capabilities.rate === 'none' ? [] : ['--rate', '10']),
  ]);
  assert.equal(processes.code, 2, processes.stderr);
  assert.match(processes.stderr, new RegExp(`--processes: only --engine ${multiProcessEngines()} runs several generator processes`));

  const noRate = engineCapabilities().find((e) => e.capabilities.rate === 'none');
  assert.ok(noRate, 'some engine takes no rate');
  const rate = await lbbench(['load', URL_OK, '--engine', noRate.name, '--rate', '10']);
  assert.equal(rate.code, 2, rate.stderr);
  assert.match(rate.stderr, /--rate: --engine \S+ takes no rate/);

  const run = await lbbench(['run', 'distribution', '--engine', 'nope']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, new RegExp(`Allowed choices are ${engineNames().join(', ')}`));
});
