import type { Embedder } from "./embedder.js";
import { countTerms, tokenize } from "./tokenize.js";

/** Options of the offline hashing embedder. */
export interface HashingEmbedderOptions {
  /** Vector length (a power of two keeps the modulo cheap); 512 by default. */
  dimensions?: number;
  /** Weight of word bigrams relative to single terms. */
  bigramWeight?: number;
  /** Weight of character 4-grams, which let "coalesced" meet "coalescing". */
  charGramWeight?: number;
}

// FNV-1a 32-bit: fast, dependency-free and stable across runs and machines (index files persist).
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * Offline default embedder: signed feature hashing of terms, identifier tokens, word bigrams and
 * character 4-grams into a fixed-size, L2-normalised vector. Needs no model download, is
 * deterministic, and keeps code identifiers (tl.dot, __shfl_down_sync, #pragma) as features.
 */
export class HashingEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  private readonly bigramWeight: number;
  private readonly charGramWeight: number;

  constructor(options: HashingEmbedderOptions = {}) {
    this.dimensions = options.dimensions ?? 512;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 16) {
      throw new RangeError(`HashingEmbedder: dimensions must be an integer >= 16, got ${options.dimensions}`);
    }
    this.bigramWeight = options.bigramWeight ?? 0.5;
    this.charGramWeight = options.charGramWeight ?? 0.15;
    this.id = `hashing-v1-${this.dimensions}`;
  }

  /** Embeds one text synchronously (the async methods wrap this). */
  embed(text: string): number[] {
    const vector = new Float64Array(this.dimensions);
    const add = (feature: string, weight: number) => {
      const hash = fnv1a(feature);
      // One bit of a second hash picks the sign, so collisions cancel out on average.
      const sign = fnv1a(feature, 0x9747b28c) & 1 ? 1 : -1;
      vector[hash % this.dimensions] += sign * weight;
    };
    const terms = tokenize(text);
    for (const [term, count] of countTerms(terms)) {
      // Sub-linear term frequency: a word repeated ten times is not ten times as telling.
      const weight = 1 + Math.log(count);
      add(`w:${term}`, /[._#]/.test(term) ? weight * 1.5 : weight);
      if (this.charGramWeight > 0 && term.length > 5 && /^[a-z]+$/.test(term)) {
        for (let index = 0; index + 4 <= term.length; index += 1) add(`c:${term.slice(index, index + 4)}`, this.charGramWeight);
      }
    }
    for (let index = 0; index + 1 < terms.length; index += 1) add(`b:${terms[index]} ${terms[index + 1]}`, this.bigramWeight);
    let norm = 0;
    for (const value of vector) norm += value * value;
    norm = Math.sqrt(norm);
    const result = new Array<number>(this.dimensions);
    for (let index = 0; index < this.dimensions; index += 1) result[index] = norm > 0 ? vector[index] / norm : 0;
    return result;
  }

  /** Embeds documents for indexing. */
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((text) => this.embed(text));
  }

  /** Embeds one query. */
  async embedQuery(text: string): Promise<number[]> {
    return this.embed(text);
  }
}
