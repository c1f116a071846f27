import type { Character } from '../../src/characters/character.js';
import { CharacterError } from '../../src/core/errors.js';

/** A complete Character for tests that do not care about loading one from disk. */
export function makeCharacter(overrides: Partial<Character> = {}): Character {
  return {
    id: 'tester',
    name: 'Tess',
    aliases: ['T'],
    language: 'en-US',
    description: '{{char}} is a patient test pilot who talks to {{user}} about aeroplanes.',
    personality: 'calm, precise',
    scenario: 'A hangar at dawn.',
    worldId: null,
    greeting: 'Morning, {{user}}.',
    alternateGreetings: [],
    exampleDialogues: [[{ speaker: 'user', text: 'Is it safe?' }, { speaker: 'char', text: 'Safer than breakfast, {{user}}.' }]],
    systemPrompt: '',
    postHistoryInstructions: '',
    tags: [],
    creator: 'omoide tests',
    characterVersion: '1',
    model: {},
    extensions: {},
    lorebook: null,
    script: null,
    scriptSettings: { budgetTokens: 1500, minChunks: 3 },
    directory: '/nowhere/tester',
    file: '/nowhere/tester/character.yaml',
    ...overrides,
  };
}

/** The CharacterError that `run` throws; anything else thrown, or nothing, fails the test. */
export function characterErrorOf(run: () => unknown): CharacterError {
  try {
    run();
  } catch (error) {
    if (error instanceof CharacterError) return error;
    throw error;
  }
  throw new Error('expected a CharacterError, but nothing was thrown');
}
