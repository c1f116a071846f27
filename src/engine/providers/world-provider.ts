/**
 * The 'world' prompt section: the world the character lives in, as items best first — the setting, then the places
 * and people named in the last few messages, then the other places, then the other people — so that packing under
 * the section's budget keeps what matters most to the conversation at hand.
 */
import type { CharacterContextProvider } from '../engine.js';
import type { CharacterCatalog } from '../../characters/catalog.js';
import { recentTexts } from './lorebook-provider.js';
import type { WorldItem } from '../../characters/world.js';

export interface WorldProviderOptions {
  /** Messages scanned for names of places and people, the current one included; default 4. */
  readonly scanDepth?: number;
}

export function createWorldProvider(catalog: CharacterCatalog, options: WorldProviderOptions = {}): CharacterContextProvider {
  const scanDepth = options.scanDepth ?? 4;
  return {
    section: 'world',
    collect(turn) {
      const world = catalog.worldOf(turn.character);
      if (!world) return [];
      const said = recentTexts(turn, scanDepth).join('\n').toLowerCase();
      const mentioned = (item: WorldItem) => said.includes(item.name.toLowerCase());
      const format = (item: WorldItem) => `${item.name}: ${item.description}`;
      const items = [...world.places, ...world.people];
      return [
        `${world.name}: ${world.setting}`,
        ...items.filter(mentioned).map(format),
        ...items.filter((item) => !mentioned(item)).map(format),
      ];
    },
  };
}
