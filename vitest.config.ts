import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // onnxruntime-node needs real Float32Array identity: forks, never vmThreads (../shared/STACK.md).
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
