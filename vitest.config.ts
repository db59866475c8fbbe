import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'receivers/**/*.test.ts',
      'processors/**/*.test.ts',
      'exporters/**/*.test.ts',
      'extensions/**/*.test.ts',
      'connectors/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Tests start real servers on ephemeral ports; two workers match the 2-core CI machine.
    maxWorkers: 2,
  },
});
