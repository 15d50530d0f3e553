import { readFile } from 'node:fs/promises';

/** CLIP's start and end of text tokens. */
export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

/** Token ids of one text, padded to the context length, with its attention mask. */
export interface TokenizedText {
  ids: number[];
  mask: number[];
  /** True when the text had more tokens than fit and was cut. */
  truncated: boolean;
}

/**
 * CLIP's byte-level BPE tokenizer, written from its published description: text is cleaned
 * (whitespace collapsed, lower-cased), split by CLIP's pattern, each piece's UTF-8 bytes are
 * mapped to printable characters, `</w>` marks a word's last symbol, and the merges are applied
 * by rank. Reads the usual `vocab.json` (token to id) and `merges.txt` files.
 */
export class ClipTokenizer {
  private readonly vocab: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();
  private readonly byteChars = byteToUnicode();
  readonly startId: number;
  readonly endId: number;

  constructor(vocab: Record<string, number>, merges: readonly string[]) {
    this.vocab = new Map(Object.entries(vocab));
    this.ranks = new Map(merges.map((pair, rank) => [pair, rank]));
    const start = this.vocab.get(START_OF_TEXT);
    const end = this.vocab.get(END_OF_TEXT);
    if (start === undefined || end === undefined) {
      throw new Error(`The vocabulary has no ${START_OF_TEXT} or ${END_OF_TEXT} token.`);
    }
    this.startId = start;
    this.endId = end;
  }

  /** Reads `vocab.json` and `merges.txt` (its `#version` line and blank lines skipped). */
  static async fromFiles(vocabPath: string, mergesPath: string): Promise<ClipTokenizer> {
    const vocab = JSON.parse(await readFile(vocabPath, 'utf8')) as Record<string, number>;
    const merges = (await readFile(mergesPath, 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#version'));
    return new ClipTokenizer(vocab, merges);
  }

  /** The BPE token strings of `text`, without start and end tokens. */
  tokens(text: string): string[] {
    // Limitation: OpenAI's CLIP also runs ftfy and HTML unescaping before this; text with
    // mojibake or HTML entities tokenizes differently here than in the original.
    const cleaned = text.replace(/\s+/g, ' ').trim().toLowerCase();
    const pieces = cleaned.match(PIECE_PATTERN) ?? [];
    return pieces.flatMap((piece) => {
      const mapped = Array.from(
        new TextEncoder().encode(piece),
        (b) => this.byteChars[b] as string,
      );
      return this.bpe(mapped.join(''));
    });
  }

  /**
   * Ids of `text` between the start and end tokens, cut to `contextLength` (the end token
   * kept) and padded with zeros; the mask is 1 over the real tokens.
   */
  encode(text: string, contextLength: number): TokenizedText {
    const body = this.tokens(text).map((token) => {
      const id = this.vocab.get(token);
      if (id === undefined)
        throw new Error(`The vocabulary lacks the token ${JSON.stringify(token)}.`);
      return id;
    });
    const room = contextLength - 2;
    const truncated = body.length > room;
    const ids = [this.startId, ...body.slice(0, room), this.endId];
    const mask = ids.map(() => 1);
    while (ids.length < contextLength) {
      ids.push(0);
      mask.push(0);
    }
    return { ids, mask, truncated };
  }

  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;

    const symbols = Array.from(word);
    symbols[symbols.length - 1] = `${symbols.at(-1)}</w>`;
    for (;;) {
      // The adjacent pair of lowest rank merges first, everywhere it occurs.
      let best: string | undefined;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = `${symbols[i]} ${symbols[i + 1]}`;
        }
      }
      if (best === undefined) break;

      const [left, right] = best.split(' ') as [string, string];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i] as string);
        }
      }
      symbols.splice(0, symbols.length, ...merged);
    }

    if (this.cache.size < 10_000) this.cache.set(word, symbols);
    return symbols;
  }
}

/** CLIP's split: special tokens, English contractions, letter runs, single digits, the rest. */
const PIECE_PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;

/**
 * GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to
 * themselves, the others to code points from 256 up, so every byte has a visible symbol.
 */
export function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);

  const chars: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    chars[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return chars;
}
