/**
 * Headless Chromium for the HTML report tests: Debian's system browser
 * (`/usr/bin/chromium`, or LBBENCH_CHROMIUM) driven by playwright-core,
 * never a downloaded browser. Each launch gets a fresh empty profile, and
 * every network and background feature that could phone home is off.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** The system Chromium's path, or undefined when it is not installed.
 * LBBENCH_CHROMIUM, when set, is the only candidate (set it to a missing
 * path to see the tests skip). */
export function chromiumPath(): string | undefined {
  const override = process.env['LBBENCH_CHROMIUM'];
  const candidates = override ? [override] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p) => existsSync(p));
}

/** Why the browser tests skip, or false when they can run. */
export function chromiumSkipReason(): string | false {
  return chromiumPath() ? false : 'no system Chromium (apt-get install -y chromium, or set LBBENCH_CHROMIUM)';
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium (a context on a fresh profile) and a `close()` that also removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no system Chromium');
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'lbbench-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: ARGS,
      viewport: { width: 1500, height: 1000 },
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}
