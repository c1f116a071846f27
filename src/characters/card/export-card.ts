/** Writes `CardData` back out as spec card objects (ready for JSON.stringify or a PNG chunk). */
import type { CardAsset, CardData, CardV2, CardV2Data, CardV3 } from './card-types.js';

function v2Data(card: CardData): CardV2Data {
  const data: CardV2Data = {
    name: card.name,
    description: card.description,
    personality: card.personality,
    scenario: card.scenario,
    first_mes: card.firstMessage,
    mes_example: card.exampleMessages,
    creator_notes: card.creatorNotes,
    system_prompt: card.systemPrompt,
    post_history_instructions: card.postHistoryInstructions,
    alternate_greetings: [...card.alternateGreetings],
    tags: [...card.tags],
    creator: card.creator,
    character_version: card.characterVersion,
    extensions: structuredClone(card.extensions),
  };
  // Only present when the card has a book: tools differ on whether an empty `character_book` is valid.
  if (card.characterBook) data.character_book = structuredClone(card.characterBook);
  return data;
}

export function toCardV2(card: CardData): CardV2 {
  return { spec: 'chara_card_v2', spec_version: '2.0', data: v2Data(card) };
}

export function toCardV3(card: CardData): CardV3 {
  const data: CardV3['data'] = { ...v2Data(card), group_only_greetings: [...card.groupOnlyGreetings] };
  if (card.nickname !== null) data.nickname = card.nickname;
  if (card.assets !== null) data.assets = card.assets.map((asset): CardAsset => ({ ...asset }));
  if (card.creatorNotesMultilingual !== null) data.creator_notes_multilingual = { ...card.creatorNotesMultilingual };
  if (card.source !== null) data.source = [...card.source];
  if (card.creationDate !== null) data.creation_date = card.creationDate;
  if (card.modificationDate !== null) data.modification_date = card.modificationDate;
  return { spec: 'chara_card_v3', spec_version: '3.0', data };
}
