import { countTerms, tokenize } from "./tokenize.js";
import { TopK } from "./top-k.js";

/** BM25 parameters; the defaults are the usual ones from the literature. */
export interface Bm25Options {
  /** Term-frequency saturation. */
  k1?: number;
  /** Length normalisation strength. */
  b?: number;
}

interface Postings {
  labels: number[];
  frequencies: number[];
}

/**
 * In-memory inverted index with Okapi BM25 scoring. Labels are the same integers the vector index
 * uses, so the two rankings can be fused. Removal is lazy: a removed label stops counting in the
 * statistics at once and is skipped when postings are read.
 */
export class Bm25Index {
  private readonly k1: number;
  private readonly b: number;
  private readonly postings = new Map<string, Postings>();
  private readonly lengths = new Map<number, number>();
  private readonly documentFrequency = new Map<string, number>();
  private readonly termsOf = new Map<number, string[]>();
  private totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
  }

  /** Number of live entries. */
  get size(): number {
    return this.lengths.size;
  }

  /** Indexes a text under a label (re-adding a live label is an error the caller avoids). */
  add(label: number, text: string): void {
    if (this.lengths.has(label)) throw new Error(`Bm25Index: label ${label} is already indexed`);
    const terms = tokenize(text);
    const counts = countTerms(terms);
    for (const [term, frequency] of counts) {
      let list = this.postings.get(term);
      if (!list) {
        list = { labels: [], frequencies: [] };
        this.postings.set(term, list);
      }
      list.labels.push(label);
      list.frequencies.push(frequency);
      this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
    }
    this.termsOf.set(label, [...counts.keys()]);
    this.lengths.set(label, terms.length);
    this.totalLength += terms.length;
  }

  /** Removes a label from the statistics; its postings are skipped from now on. */
  remove(label: number): void {
    const length = this.lengths.get(label);
    if (length === undefined) return;
    this.lengths.delete(label);
    this.totalLength -= length;
    for (const term of this.termsOf.get(label) ?? []) this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 1) - 1);
    this.termsOf.delete(label);
  }

  /** Top `limit` labels by BM25 score for the query, restricted to labels the filter admits. */
  search(query: string, limit: number, filter?: (label: number) => boolean): { label: number; score: number }[] {
    const count = this.lengths.size;
    if (count === 0 || limit <= 0) return [];
    const averageLength = this.totalLength / count || 1;
    const scores = new Map<number, number>();
    for (const term of new Set(tokenize(query))) {
      const list = this.postings.get(term);
      const frequencyOfTerm = this.documentFrequency.get(term) ?? 0;
      if (!list || frequencyOfTerm <= 0) continue;
      const idf = Math.log(1 + (count - frequencyOfTerm + 0.5) / (frequencyOfTerm + 0.5));
      const { labels, frequencies } = list;
      for (let index = 0; index < labels.length; index += 1) {
        const label = labels[index];
        const length = this.lengths.get(label);
        if (length === undefined) continue; // removed
        const frequency = frequencies[index];
        const termScore = (idf * frequency * (this.k1 + 1)) / (frequency + this.k1 * (1 - this.b + (this.b * length) / averageLength));
        scores.set(label, (scores.get(label) ?? 0) + termScore);
      }
    }
    const top = new TopK(limit);
    for (const [label, score] of scores) if (!filter || filter(label)) top.push(label, score);
    return top.sorted();
  }
}
