import { defineConfig } from '@playwright/test';

// One runner for everything (DESIGN.md §8): unit tests, interop tests against real peers, the report's browser test.
export default defineConfig({
  testDir: './test',
  testMatch: '**/*.spec.ts',
  timeout: 120_000,
  fullyParallel: true,
  workers: process.env.CI ? 2 : undefined,
  reporter: process.env.CI ? [['list'], ['junit', { outputFile: 'test-results/junit.xml' }]] : 'list',
  use: {
    launchOptions: { executablePath: '/usr/bin/chromium' },
  },
});
