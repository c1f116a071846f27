import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

/** The repository root. */
export const repositoryRoot = resolve(import.meta.dirname, '..', '..');

/**
 * Compiles the project into dist/ (what bin/omoide.js and spawned children run), so a test file that starts them
 * also works outside `npm test`; fails the test with the compiler's output if it does not compile.
 * Slow: call it from a beforeAll with a long timeout.
 */
export function buildDist(): void {
  const tsc = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(repositoryRoot, 'tsconfig.json')], { encoding: 'utf8' });
  expect(build.status, build.stdout + build.stderr).toBe(0);
}
