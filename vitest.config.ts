import { defineConfig } from 'vitest/config';

// Two cores on the CI machine: e2e tests start real processes (control plane, agents, moto), so
// they run in their own files with generous per-test timeouts rather than in parallel floods.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['test/setup.ts'],
  },
});
