/**
 * A tiny BERT-shaped model that transformers.js loads like a real one (config.json, tokenizer.json,
 * tokenizer_config.json, onnx/model.onnx), generated on the spot because no model hub is reachable.
 *
 * The "network" is two embedding lookups: last_hidden_state[b, s] = (wordRow(input_ids[b, s]) +
 * typeRow(token_type_ids[b, s])) * attention_mask[b, s]. So a test can compute the expected pooled vector by hand
 * from `tinyBertWordRow` / `tinyBertTypeRow` and the token ids of `tinyBertVocabulary`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** The special tokens come first, at these ids. */
export const tinyBertSpecialTokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface TinyBertOptions {
  readonly dimension: number;
  /** Ordinary tokens (lowercase words, single CJK characters, "##" pieces), after the special tokens. */
  readonly vocab: readonly string[];
}

/** Every token of the model, index = token id. */
export function tinyBertVocabulary(vocab: readonly string[]): string[] {
  return [...tinyBertSpecialTokens, ...vocab];
}

/** The word-table row of a token id: distinct, deterministic, float32-exact. */
export function tinyBertWordRow(tokenId: number, dimension: number): Float32Array {
  const row = new Float32Array(dimension);
  for (let index = 0; index < dimension; index++) row[index] = Math.sin(tokenId * 12.9898 + index * 78.233 + 1);
  return row;
}

/** The token-type-table row (BERT's segment embedding); small, so it shifts but does not dominate. */
export function tinyBertTypeRow(typeId: number, dimension: number): Float32Array {
  const row = new Float32Array(dimension);
  for (let index = 0; index < dimension; index++) row[index] = 0.05 * Math.cos(typeId * 3.7 + index * 1.3);
  return row;
}

function tensor(name: string, dims: number[], values: Float32Array): OnnxTypes.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function int64Input(name: string): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
  };
}

function modelBytes(dimension: number, vocabularySize: number): Uint8Array {
  const wordTable = new Float32Array(vocabularySize * dimension);
  for (let id = 0; id < vocabularySize; id++) wordTable.set(tinyBertWordRow(id, dimension), id * dimension);
  const typeTable = new Float32Array(2 * dimension);
  for (let id = 0; id < 2; id++) typeTable.set(tinyBertTypeRow(id, dimension), id * dimension);
  const graph: OnnxTypes.IGraphProto = {
    name: 'tiny-bert',
    initializer: [
      tensor('word_table', [vocabularySize, dimension], wordTable),
      tensor('type_table', [2, dimension], typeTable),
      { name: 'unsqueeze_axes', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [-1] },
    ],
    node: [
      { opType: 'Gather', input: ['word_table', 'input_ids'], output: ['words'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      { opType: 'Gather', input: ['type_table', 'token_type_ids'], output: ['types'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      { opType: 'Add', input: ['words', 'types'], output: ['summed'] },
      { opType: 'Cast', input: ['attention_mask'], output: ['mask_float'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT }] },
      { opType: 'Unsqueeze', input: ['mask_float', 'unsqueeze_axes'], output: ['mask_column'] },
      { opType: 'Mul', input: ['summed', 'mask_column'], output: ['last_hidden_state'] },
    ],
    input: [int64Input('input_ids'), int64Input('attention_mask'), int64Input('token_type_ids')],
    output: [
      {
        name: 'last_hidden_state',
        type: {
          tensorType: {
            elemType: onnx.TensorProto.DataType.FLOAT,
            shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: dimension }] },
          },
        },
      },
    ],
  };
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 14 }], producerName: 'omoide-tests', graph });
  return onnx.ModelProto.encode(model).finish();
}

function tokenizerJson(vocabulary: readonly string[]): unknown {
  const ids = Object.fromEntries(vocabulary.map((token, id) => [token, id]));
  const special = (token: string) => ({ id: ids[token], content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const specialToken = (token: string) => ({ id: token, ids: [ids[token]], tokens: [token] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tinyBertSpecialTokens.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': specialToken('[CLS]'), '[SEP]': specialToken('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

/** Writes the model's files into `dir` (created if needed) and returns its absolute path. */
export async function writeTinyBertModel(dir: string, options: TinyBertOptions): Promise<string> {
  const folder = resolve(dir);
  const vocabulary = tinyBertVocabulary(options.vocab);
  await mkdir(join(folder, 'onnx'), { recursive: true });
  await writeFile(join(folder, 'onnx', 'model.onnx'), modelBytes(options.dimension, vocabulary.length));
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson(vocabulary)));
  await writeFile(
    join(folder, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    }),
  );
  await writeFile(
    join(folder, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_size: options.dimension,
      vocab_size: vocabulary.length,
      type_vocab_size: 2,
      num_hidden_layers: 0,
      num_attention_heads: 1,
      max_position_embeddings: 512,
      pad_token_id: 0,
    }),
  );
  return folder;
}
