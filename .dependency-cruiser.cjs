/**
 * The layers of src/, as README's "How it works" draws them, checked by test/architecture.test.ts in every test run.
 * Imports run one way, down:
 *
 *   core, util                       the kernel (imports nothing else of src) and small helpers beside it
 *   search, llm                      segmentation, fusion, vector codes; the chat models and embedders
 *   store                            SQLite: every SQL statement
 *   memory, characters               the memory facade; the character model and its formats
 *   engine, consolidation            answering one message; consolidating memories
 *   adapters/runtime                 the one pipeline every platform's messages go through
 *   adapters/<platform>, commands    Discord, QQ, the terminal; /persona and /memory
 *   app, main, config, cli           composition roots: they may import anything
 *
 * Siblings on one layer do not import each other, nor does one platform import another; there are no cycles; and a
 * platform or model SDK is imported only inside its own folder.
 */

/** Paths (under src/) that a module in `layer` may not import: everything outside `allowed`. */
function layer(name, folder, allowed) {
  const inside = [folder, ...allowed].map((path) => `src/${path}`).join('|');
  return {
    name: `layer-${name}`,
    comment: `${folder} may import only ${allowed.length > 0 ? allowed.join(', ') : 'itself'} of src/`,
    severity: 'error',
    from: { path: `^src/${folder}` },
    to: { path: '^src/', pathNot: `^(${inside})` },
  };
}

/** An SDK (npm package names, as a pattern) that only `folder` may import. */
function sdk(name, packages, folder) {
  return {
    name: `sdk-${name}`,
    comment: `${name} is imported only inside src/${folder}`,
    severity: 'error',
    from: { path: '^src/', pathNot: `^src/${folder}` },
    to: { path: `node_modules/(${packages})/` },
  };
}

const bottom = ['core/', 'util/'];
const below = {
  search: bottom,
  llm: bottom,
  store: [...bottom, 'search/'],
  memory: [...bottom, 'search/', 'llm/', 'store/'],
  characters: [...bottom, 'search/', 'llm/', 'store/'],
  engine: [...bottom, 'search/', 'llm/', 'store/', 'memory/', 'characters/'],
  consolidation: [...bottom, 'search/', 'llm/', 'store/', 'memory/', 'characters/'],
};
// Above the engine, the layers see the engine and what it speaks in (characters), not the machinery below it; commands
// also read memories and find people (store: conversations), and the terminal names the model it cannot reach.
below.runtime = [...bottom, 'characters/', 'engine/'];
below.platform = [...below.runtime, 'adapters/runtime/'];
below.console = [...below.platform, 'llm/'];
below.commands = [...below.runtime, 'memory/', 'store/'];

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'no module reaches itself through its imports',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    layer('core', 'core/', []),
    layer('util', 'util/', []),
    layer('search', 'search/', below.search),
    layer('llm', 'llm/', below.llm),
    layer('store', 'store/', below.store),
    layer('memory', 'memory/', below.memory),
    layer('characters', 'characters/', below.characters),
    layer('engine', 'engine/', below.engine),
    layer('consolidation', 'consolidation/', below.consolidation),
    layer('runtime', 'adapters/runtime/', below.runtime),
    layer('discord', 'adapters/discord/', below.platform),
    layer('qq', 'adapters/qq/', below.platform),
    layer('console', 'adapters/console/', below.console),
    layer('commands', 'commands/', below.commands),
    sdk('discord.js', 'discord\\.js|@discordjs', 'adapters/discord/'),
    sdk('koishi', 'koishi|koishi-plugin-adapter-onebot|@koishijs|@cordisjs|cordis', 'adapters/qq/'),
    sdk('openai', 'openai', 'llm/openai/'),
    sdk('ollama', 'ollama', 'llm/ollama/'),
    sdk('transformers.js', '@huggingface/transformers', 'llm/local/'),
    sdk('sqlite', 'better-sqlite3|sqlite-vec', 'store/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // TypeScript 7 (the native compiler) has no JavaScript API for dependency-cruiser to parse with: swc parses.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
