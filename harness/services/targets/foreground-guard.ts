/**
 * Runs a foreign program (nginx, haproxy, a user's balancer) in the
 * foreground as a child of this small Node process, which the harness
 * starts with the parent watchdog preloaded. So a foreign balancer gets the
 * guarantee every lbbench child has: when the harness is gone (even
 * SIGKILLed), the watchdog SIGTERMs this guard, which passes the signal on
 * and exits with the program.
 *
 * Usage: node --import parent-watchdog.js foreground-guard.js BINARY [ARGS...]
 */
import { spawn } from 'node:child_process';

const [binary, ...args] = process.argv.slice(2);
if (binary === undefined) {
  process.stderr.write('foreground-guard: no program given\n');
  process.exit(2);
}
const child = spawn(binary, args, { stdio: ['ignore', 'inherit', 'inherit'] });
child.on('error', (err) => {
  process.stderr.write(`cannot start ${binary}: ${err.message}\n`);
  process.exit(127);
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
  process.on(signal, () => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  });
}
child.on('exit', (code, signal) => {
  // Exit as the program did, so the harness's exit report is about it.
  process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1));
});
