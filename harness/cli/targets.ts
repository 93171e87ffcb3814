/**
 * `lbbench targets`: every target this config knows (the built-in lbbench,
 * nginx and haproxy, and those declared under `targets:`), whether it can
 * run on this machine, and its version.
 */
import { Command } from 'commander';
import { CONFIG_OPTION_HELP } from './config-path.js';

/** Where the command writes. Default process.stdout. */
export interface TargetsIo {
  stdout: { write(text: string): unknown };
}

const HELP_AFTER = `
A target is whatever sits on the balancer's address during a run. Run the
same scenarios against several, side by side:

  $ lbbench run distribution throughput --quick --targets lbbench,nginx,haproxy

nginx and haproxy are Debian packages: apt-get install -y nginx haproxy.
Declare your own balancer under targets: in the config (kind: command, or
kind: attach for one that is already running); see README, Targets.

Examples:
  $ lbbench targets
  $ lbbench targets --json
`;

/** One line of the listing. */
export interface TargetRow {
  name: string;
  kind: string;
  available: boolean;
  version?: string;
  /** Why it is not available, and how to fix that. */
  reason?: string;
}

/** The `targets` verb. */
export function targetsCommand(io: TargetsIo = { stdout: process.stdout }): Command {
  return new Command('targets')
    .description('list the targets (balancers) a run can use, whether each is installed, and its version')
    .option('-c, --config <file>', CONFIG_OPTION_HELP)
    .option('--json', 'print a JSON array of { name, kind, available, version, reason }', false)
    .addHelpText('after', HELP_AFTER)
    .action(async (opts: { config?: string; json: boolean }) => {
      const [{ resolveConfigFile }, { loadConfig }, { createTarget, knownTargetNames }] = await Promise.all([
        import('./config-path.js'),
        import('../../common/config.js'),
        import('../services/targets/index.js'),
      ]);
      const config = loadConfig(resolveConfigFile(opts.config).file);
      const rows: TargetRow[] = await Promise.all(
        knownTargetNames(config).map(async (name) => {
          const t = createTarget(name, config);
          const a = await t.available();
          return a.ok
            ? { name, kind: t.kind, available: true, ...(a.version !== undefined ? { version: a.version } : {}) }
            : { name, kind: t.kind, available: false, reason: `${a.reason} (${a.hint})` };
        }),
      );
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const w = (k: (r: TargetRow) => string): number => Math.max(...rows.map((r) => k(r).length));
      const nameW = Math.max(
        4,
        w((r) => r.name),
      );
      const kindW = Math.max(
        4,
        w((r) => r.kind),
      );
      const lines = [`${'NAME'.padEnd(nameW)}  ${'KIND'.padEnd(kindW)}  AVAILABLE  VERSION`];
      for (const r of rows) {
        const detail = r.available ? (r.version ?? '-') : `- ${r.reason}`;
        lines.push(`${r.name.padEnd(nameW)}  ${r.kind.padEnd(kindW)}  ${(r.available ? 'yes' : 'no').padEnd(9)}  ${detail}`);
      }
      io.stdout.write(`${lines.join('\n')}\n`);
    });
}
