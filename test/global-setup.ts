/** Vitest's global setup, run once before any test file: dist/ is up to date (see helpers/build.ts). */
import { buildDistIfStale } from './helpers/build.js';

export default function setup(): void {
  buildDistIfStale();
}
