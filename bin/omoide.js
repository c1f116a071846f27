#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script, or `npm run build`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('omoide: not built yet; run `npm install` (or `npm run build`) in the omoide folder first\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv);
