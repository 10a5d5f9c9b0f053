// Playwright settings of the browser suite. deploy/local/e2e.sh starts the services and sets
// the FV_E2E_* variables; `npm run e2e` alone works against services that are already up
// when the same variables are set.

import { defineConfig } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

if (!process.env.FV_E2E_BASE_URL || !process.env.FV_E2E_ISSUER) {
  throw new Error('FV_E2E_BASE_URL and FV_E2E_ISSUER are not set: run the suite with deploy/local/e2e.sh');
}
// The workers read it too (e2e/fixtures.ts).
const out = (process.env.FV_E2E_OUT ??= path.resolve(here, '../../../data/e2e'));
const chromium = process.env.FV_E2E_CHROMIUM ?? '/usr/bin/chromium';
const workers = Number(process.env.FV_E2E_WORKERS ?? 1);

export default defineConfig({
  testDir: here,
  testMatch: '*.spec.ts',
  outputDir: path.join(out, 'results'),
  // Every test signs in as an account of its own, so tests may run side by side; one
  // browser at a time suits a two-core machine that also runs five debug services.
  fullyParallel: true,
  workers: Number.isInteger(workers) && workers > 0 ? workers : 1,
  // One retry: a test that fails twice fails the run; one that passes on its retry is
  // listed as flaky at the end of the summary (with its first error), to be fixed.
  retries: 1,
  forbidOnly: true,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: path.join(out, 'report.json') }]],
  use: {
    baseURL: process.env.FV_E2E_BASE_URL,
    browserName: 'chromium',
    headless: true,
    // Debian's chromium: Playwright downloads no browser of its own here. Playwright gives
    // each browser a fresh temporary profile (user-data-dir) itself.
    launchOptions: {
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    locale: 'en-US',
    timezoneId: 'UTC',
    colorScheme: 'light',
    // No transitions: axe and the screenshots see the final colours right after a theme switch.
    reducedMotion: 'reduce',
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
