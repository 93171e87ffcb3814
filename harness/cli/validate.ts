/**
 * `lbbench validate [files...]`: checks the config and scenario files the
 * way `run` does before it starts anything, and lists every problem.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { SCENARIOS_DIR } from '../../common/paths.js';
import type { LbbenchConfig } from '../../common/config.js';
import { InputError, LbbenchError, type InputIssue } from '../../common/errors.js';
import { CONFIG_OPTION_HELP } from './config-path.js';

/** Where the command writes. Default process.stdout. */
export interface ValidateIo {
  stdout: { write(text: string): unknown };
}

const HELP_AFTER = `
Without files, checks the config (--config, else ./config.yaml, else the
bundled one) and every bundled scenario. A file whose top level has an \`lb\`
key is checked as a config, any other as a scenario. Scenarios are also
checked against the config: their kind, and every threshold that applies to
them (config, scenario file and each profile). Every threshold of a config
and its profiles must name a known scenario (bundled or given) and a metric
that scenario's kind produces; the message lists the known metrics.

Prints "ok <file>" per valid file and exits 0; otherwise lists every problem
as file:line: field: message and exits 2.

Examples:
  $ lbbench validate
  $ lbbench validate --config ci.yaml
  $ lbbench validate scenarios/failover.yaml my-scenario.yaml
  $ lbbench validate my-config.yaml
`;

/** The `validate` verb. */
export function validateCommand(io: ValidateIo = { stdout: process.stdout }): Command {
  return new Command('validate')
    .description('check config and scenario files (default: the config and every bundled scenario)')
    .argument('[files...]', 'config or scenario files')
    .option('-c, --config <file>', CONFIG_OPTION_HELP)
    .addHelpText('after', HELP_AFTER)
    .action(async (files: string[], opts: { config?: string }) => {
      const [{ resolveConfigFile }, { loadConfig }, { readYamlFile }, { loadScenarioFile }, { planScenarios }, { configThresholdIssues }] = await Promise.all([
        import('./config-path.js'),
        import('../../common/config.js'),
        import('../../common/yaml-source.js'),
        import('../plan/scenario-file.js'),
        import('../plan/plan.js'),
        import('../plan/threshold-check.js'),
      ]);
      const issues: InputIssue[] = [];
      const collect = (file: string, err: unknown): void => {
        if (err instanceof InputError) issues.push(...err.issues);
        else if (err instanceof LbbenchError) issues.push({ file, path: '', message: err.message });
        else throw err;
      };

      // Sort the arguments into configs and scenarios.
      const configFiles: string[] = [];
      const scenarioFiles: string[] = [];
      if (files.length === 0) {
        configFiles.push(resolveConfigFile(opts.config).file);
      } else {
        if (opts.config !== undefined) configFiles.push(opts.config);
        for (const file of files) {
          let isConfig = false;
          try {
            const data = readYamlFile(file).data;
            isConfig = typeof data === 'object' && data !== null && 'lb' in data;
          } catch (err) {
            collect(file, err);
            continue;
          }
          (isConfig ? configFiles : scenarioFiles).push(file);
        }
      }

      const configs: { file: string; config: LbbenchConfig }[] = [];
      for (const file of configFiles) {
        try {
          configs.push({ file, config: loadConfig(file) });
        } catch (err) {
          collect(file, err);
        }
      }
      let config: LbbenchConfig | undefined = configs[0]?.config;
      if (config === undefined && configFiles.length === 0) {
        // Only scenarios given: check them against the default config.
        try {
          config = loadConfig(resolveConfigFile(undefined).file);
        } catch {
          // Its own problems are not what was asked about; scenarios are still checked alone.
        }
      }

      // Each bundled file on its own, so one bad file does not hide the others.
      if (files.length === 0) scenarioFiles.push(...bundledScenarioFiles());
      const scenarios = scenarioFiles.flatMap((file) => {
        try {
          return [loadScenarioFile(file)];
        } catch (err) {
          collect(file, err);
          return [];
        }
      });
      // The scenarios a config's thresholds may name: the bundled ones and those given.
      const known = [
        ...bundledScenarioFiles().flatMap((file) => {
          try {
            return [loadScenarioFile(file)];
          } catch {
            return [];
          }
        }),
        ...scenarios,
      ];
      for (const { file, config: c } of configs) {
        const problems = configThresholdIssues(c, known);
        if (problems.length > 0) issues.push(...problems);
        else io.stdout.write(`ok  ${file}\n`);
      }
      for (const scenario of scenarios) {
        try {
          if (config) {
            const profiles = [undefined, ...Object.keys(config.profiles)];
            for (const thresholdProfile of profiles) {
              await planScenarios({ config, scenarios: [scenario], knownScenarios: known, ...(thresholdProfile !== undefined ? { thresholdProfile } : {}) });
            }
          }
          io.stdout.write(`ok  ${scenario.file} (${scenario.name})\n`);
        } catch (err) {
          collect(scenario.file, err);
        }
      }
      // planScenarios reports the config's threshold problems again for each scenario.
      const seen = new Set<string>();
      const unique = issues.filter((i) => {
        const key = `${i.file}|${i.line ?? ''}|${i.path}|${i.message}`;
        return !seen.has(key) && (seen.add(key), true);
      });
      issues.length = 0;
      issues.push(...unique);
      if (issues.length > 0) throw new InputError(issues);
    });
}

/** The bundled scenario files, in name order. */
function bundledScenarioFiles(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(SCENARIOS_DIR, f));
}
