/**
 * `lbbench list`: the bundled scenarios, one line each.
 */
import { Command } from 'commander';

/** Where the command writes. Default process.stdout. */
export interface ListIo {
  stdout: { write(text: string): unknown };
}

const HELP_AFTER = `
Examples:
  $ lbbench list
  $ lbbench list --json | jq -r '.[].name'
  $ lbbench run $(lbbench list --names | head -n 2) --quick
`;

/** The `list` verb. */
export function listCommand(io: ListIo = { stdout: process.stdout }): Command {
  return new Command('list')
    .description('list the scenarios with a one-line description each')
    .option('--json', 'print a JSON array of { name, kind, description, file }', false)
    .option('--names', 'print only the names, one a line', false)
    .option('--scenarios-dir <dir>', 'list the scenario files of this directory (default: the bundled scenarios/)')
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: { json: boolean; names: boolean; scenariosDir?: string }) => {
      const { listScenarios } = await import('../plan/scenario-file.js');
      const scenarios = listScenarios(opts.scenariosDir).map((s) => ({ name: s.name, kind: s.kind, description: s.description, file: s.file }));
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(scenarios, null, 2)}\n`);
        return;
      }
      if (opts.names) {
        io.stdout.write(scenarios.map((s) => `${s.name}\n`).join(''));
        return;
      }
      const width = Math.max(0, ...scenarios.map((s) => s.name.length));
      const lines = scenarios.map((s) => `${s.name.padEnd(width)}  ${s.description}`);
      io.stdout.write(`${lines.join('\n')}\n\nRun one with \`lbbench run <name>\`, or all of them with \`lbbench run all\`.\n`);
    });
}
