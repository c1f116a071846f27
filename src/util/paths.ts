import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding omoide's package.json, found from this file whether it runs from src/ (tests) or dist/. */
function findPackageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('omoide: cannot find its package.json');
    directory = parent;
  }
  return directory;
}

export const packageRoot = findPackageRoot();
export const localesDirectory = join(packageRoot, 'locales');
export const shippedCharactersDirectory = join(packageRoot, 'characters');
