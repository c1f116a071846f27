import type { ChatStreamPart } from '../../src/llm/types.js';

/** Every item a stream yields, in order; rejects with whatever the stream throws. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

/**
 * Reads a chat stream to its end, pushing each text delta into `seen` as it arrives: a test sees the text that
 * came before the stream failed, and the failure itself from the returned promise.
 */
export async function readTextInto(stream: AsyncIterable<ChatStreamPart>, seen: string[]): Promise<void> {
  for await (const part of stream) {
    if (part.type === 'text-delta') seen.push(part.text);
  }
}
