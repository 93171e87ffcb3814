/**
 * Which config file a verb uses: `--config FILE` when given; otherwise
 * `./config.yaml` in the current directory, and when there is none, the
 * package's bundled `config.yaml` (so `npx lbbench run all` works anywhere).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/paths.js';

/** The `--config` default, relative to the current directory. */
export const DEFAULT_CONFIG_FILE = './config.yaml';

/** Help text of the `--config` option, shared by the verbs that take it. */
export const CONFIG_OPTION_HELP = `config file (default: ${DEFAULT_CONFIG_FILE}, else the bundled config.yaml)`;

/** A resolved config file. */
export interface ConfigChoice {
  /** Path to read, as given or absolute for the bundled one. */
  file: string;
  /** How it was chosen, for the "using config ..." line. */
  source: 'option' | 'cwd' | 'bundled';
}

/**
 * Resolves the config file. An explicit `given` is used as is (a missing
 * file is reported by loadConfig as an InputError naming it).
 */
export function resolveConfigFile(given: string | undefined, cwd = process.cwd()): ConfigChoice {
  if (given !== undefined) return { file: given, source: 'option' };
  if (existsSync(path.resolve(cwd, DEFAULT_CONFIG_FILE))) return { file: DEFAULT_CONFIG_FILE, source: 'cwd' };
  return { file: path.join(PACKAGE_ROOT, 'config.yaml'), source: 'bundled' };
}

/** One line saying which config is used, e.g. `config: ./config.yaml`. */
export function describeConfigChoice(choice: ConfigChoice): string {
  return choice.source === 'bundled' ? `config: ${choice.file} (bundled; no ./config.yaml here)` : `config: ${choice.file}`;
}
