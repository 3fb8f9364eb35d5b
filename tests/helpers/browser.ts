import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { UI_DIR } from '../../src/http/ui';

const ROOT = path.resolve(__dirname, '..', '..');
const UI_SRC = path.join(ROOT, 'src', 'ui');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether this machine can run the browser tests; MODELGATE_TEST_BROWSER=required (CI) makes a missing Chromium fail. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.MODELGATE_TEST_BROWSER === 'required')
    throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  console.warn(`skipping the browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  return false;
}

const newest = (dir: string): number =>
  Math.max(
    ...readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => statSync(path.join(e.parentPath, e.name)).mtimeMs),
  );

/** Builds the UI into dist/ui unless a build newer than every source file is there (npm start builds it too). */
export function ensureUiBuilt(): void {
  const index = path.join(UI_DIR, 'index.html');
  if (
    existsSync(index) &&
    statSync(index).mtimeMs > Math.max(newest(UI_SRC), statSync(path.join(ROOT, 'schema.graphql')).mtimeMs)
  )
    return;
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'src/ui/vite.config.mts',
      '--logLevel',
      'warn',
    ],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}

/** Debian's Chromium, headless, as STACK-NOTES describes: no sandbox (root in a container), no GPU, no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
