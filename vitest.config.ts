import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // dist/ (the CLI and the child processes some tests start) is compiled here once, never by a test file.
    globalSetup: ['test/global-setup.ts'],
    // onnxruntime-node needs real Float32Array identity: forks, never vmThreads (../shared/STACK.md).
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
