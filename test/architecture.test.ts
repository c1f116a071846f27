/**
 * The layers of src/ hold (.dependency-cruiser.cjs: imports run down, no cycles, SDKs stay in their folders), and
 * the rules are not toothless: the same rules find an upward import, a cycle and a stray SDK in a small tree made
 * for the purpose.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cruise, type ICruiseOptions, type IViolation } from 'dependency-cruiser';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const rules = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: ICruiseOptions };

async function violationsIn(baseDir: string): Promise<IViolation[]> {
  const options = { ...rules.options, baseDir, validate: true, ruleSet: { forbidden: rules.forbidden } } as ICruiseOptions;
  const result = await cruise(['src'], options);
  if (typeof result.output === 'string') throw new Error('dependency-cruiser returned text, not a result');
  return result.output.summary.violations;
}

const describeViolation = (violation: IViolation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`;

let scratch: string | null = null;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
});

function tree(files: Record<string, string>): string {
  scratch = mkdtempSync(join(tmpdir(), 'omoide-layers-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), content);
  }
  writeFileSync(join(scratch, 'tsconfig.json'), '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext" } }');
  return scratch;
}

describe('the layers of src/', () => {
  it('hold: no import runs up a layer or across siblings, no cycle, no SDK outside its folder', async () => {
    const violations = await violationsIn(root);
    expect(violations.map(describeViolation)).toEqual([]);
    expect(rules.forbidden.length).toBeGreaterThanOrEqual(20);
  });

  it('catch an upward import, a sibling import, a cycle and an SDK outside its folder', async () => {
    const base = tree({
      'src/core/message.ts': 'export const kernel = 1;\n',
      'src/engine/engine.ts': "import { kernel } from '../core/message.js';\nexport const engine = kernel;\n",
      // the store reaching up into the engine
      'src/store/db.ts': "import { engine } from '../engine/engine.js';\nexport const db = engine;\n",
      // memory and characters are siblings
      'src/memory/memory.ts': "import { character } from '../characters/character.js';\nexport const memory = character;\n",
      'src/characters/character.ts': 'export const character = 1;\n',
      // a cycle inside one folder
      'src/search/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/search/b.ts': "import type { a } from './a.js';\nexport const b = 1 as typeof a;\n",
      // an SDK outside its folder
      'src/engine/chat.ts': "import OpenAI from 'openai';\nexport const client = OpenAI;\n",
      'node_modules/openai/package.json': '{ "name": "openai", "version": "1.0.0", "main": "index.js" }',
      'node_modules/openai/index.js': 'module.exports = {};\n',
    });
    const found = (await violationsIn(base)).map(describeViolation);
    expect(found).toEqual(
      expect.arrayContaining([
        'layer-store: src/store/db.ts → src/engine/engine.ts',
        'layer-memory: src/memory/memory.ts → src/characters/character.ts',
        expect.stringMatching(/^no-cycles: src\/search\/[ab]\.ts → src\/search\/[ab]\.ts$/),
        'sdk-openai: src/engine/chat.ts → node_modules/openai/index.js',
      ]),
    );
  });
});
