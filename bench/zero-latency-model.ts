/** The benchmarks' in-process model: answers at once, so what is timed is omoide's own work. */
import type { ChatModel, ChatStreamPart } from '../src/llm/types.js';

/** Sample messages in both languages, for benchmarks that replay a conversation. */
export const sampleSentences = [
  'I finally finished the book you recommended, the ending surprised me.',
  '今天下班路上下了好大的雨，我的伞还被风吹坏了。',
  'My cat knocked the plant over again this morning.',
  '周末想去江边走走，你觉得天气会好吗？',
];

export const zeroLatencyModel: ChatModel = {
  provider: 'bench',
  modelId: 'zero-latency',
  endpoint: 'in-process',
  async generate() {
    return { text: 'Of course. Tell me more about it?', finishReason: 'stop' };
  },
  async *stream(): AsyncIterable<ChatStreamPart> {
    yield { type: 'text-delta', text: 'Of course. ' };
    yield { type: 'text-delta', text: 'Tell me more about it?' };
    yield { type: 'finish', finishReason: 'stop' };
  },
};
