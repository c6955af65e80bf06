import { defineConfig } from 'vitest/config';

// Two cores on the CI machine: e2e tests start real processes (control plane, agents, moto), so
// they run in their own files rather than in parallel floods. The machine is shared and loaded (load
// averages of 20 on 2 cores happen): a test that takes 10 s idle can take a minute there. Tests wait
// for what they assert with generous deadlines, and the per-test limit is generous to match; it only
// bounds how long a truly stuck test takes to report.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['test/setup.ts'],
  },
});
