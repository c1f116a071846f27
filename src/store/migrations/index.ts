import { init } from './0010-init.js';
import { memories } from './0020-memories.js';
import { scripts } from './0030-scripts.js';
import { consolidation } from './0040-consolidation.js';
import { vectorLayout } from './0050-vector-layout.js';
import { vectorBacklog } from './0060-vector-backlog.js';
import { onePlatformName } from './0070-one-platform-name.js';
import { scriptVectorLayout } from './0080-script-vector-layout.js';
import { privateMemories } from './0090-private-memories.js';
import type { Migration } from './migration.js';

/** Ordered by version; append, never edit a migration that has shipped. */
export const migrations: readonly Migration[] = [
  init,
  memories,
  scripts,
  consolidation,
  vectorLayout,
  vectorBacklog,
  onePlatformName,
  scriptVectorLayout,
  privateMemories,
];
