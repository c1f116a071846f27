import type { ChatModel, ChatRequest, ChatStreamPart } from '../../src/llm/types.js';

/** An in-process chat model that records every request and answers with a fixed text. */
export class RecordingModel implements ChatModel {
  readonly provider = 'recording';
  readonly modelId = 'recording-1';
  readonly endpoint = 'in-process';
  readonly requests: ChatRequest[] = [];

  constructor(private readonly reply: string) {}

  async generate(request: ChatRequest) {
    this.requests.push(request);
    return { text: this.reply, finishReason: 'stop' as const };
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    this.requests.push(request);
    yield { type: 'text-delta', text: this.reply };
    yield { type: 'finish', finishReason: 'stop' };
  }

  /** The system message of a recorded request (the last by default). */
  systemPrompt(index = -1): string {
    return this.requests.at(index)!.messages[0]!.content;
  }
}
