/**
 * dist/: what bin/omoide.js and the child processes of some tests run. Vitest's global setup (test/global-setup.ts)
 * compiles it once, before any test file starts, and only when it is stale: under `npm test`, whose own tsc has just
 * built it, never. No test compiles it itself, so no test runs dist/ while another rewrites it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** The repository root. */
export const repositoryRoot = resolve(import.meta.dirname, '..', '..');

/** The folders tsconfig.json compiles into dist/. */
const sourceFolders = ['src', 'bench', join('test', 'fakes')];

function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Sources (relative to the root) whose compiled file in dist/ is missing or older than they are. */
export function staleSources(root = repositoryRoot): string[] {
  return sourceFolders
    .flatMap((folder) => typeScriptFiles(join(root, folder)))
    .filter((source) => {
      const output = join(root, 'dist', relative(root, source)).replace(/\.ts$/, '.js');
      return !existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs;
    })
    .map((source) => relative(root, source));
}

/** Compiles the project into dist/ unless it is up to date; throws with the compiler's output if it does not compile. */
export function buildDistIfStale(): void {
  const stale = staleSources();
  if (stale.length === 0) return;
  const tsc = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(repositoryRoot, 'tsconfig.json')], { encoding: 'utf8' });
  if (build.status !== 0) {
    throw new Error(`dist/ is stale (${stale[0]} and ${stale.length - 1} more) and tsc -p tsconfig.json failed:\n${build.stdout}${build.stderr}`);
  }
}
