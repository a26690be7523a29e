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
  /** Term count per label; -1 marks a label that is absent or removed (typed array: hot in scoring). */
  private lengths = new Float64Array(1024).fill(-1);
  private live = 0;
  private scores = new Float64Array(1024);
  private touched = new Int32Array(1024);
  private readonly documentFrequency = new Map<string, number>();
  private readonly termsOf = new Map<number, string[]>();
  private totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
  }

  /** Number of live entries. */
  get size(): number {
    return this.live;
  }

  private ensureCapacity(label: number): void {
    if (label < this.lengths.length) return;
    let capacity = this.lengths.length;
    while (capacity <= label) capacity *= 2;
    const lengths = new Float64Array(capacity).fill(-1);
    lengths.set(this.lengths);
    this.lengths = lengths;
    this.scores = new Float64Array(capacity);
    this.touched = new Int32Array(capacity);
  }

  /** Indexes a text under a label (re-adding a live label is an error the caller avoids). */
  add(label: number, text: string): void {
    this.ensureCapacity(label);
    if (this.lengths[label] >= 0) throw new Error(`Bm25Index: label ${label} is already indexed`);
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
    this.lengths[label] = terms.length;
    this.live += 1;
    this.totalLength += terms.length;
  }

  /** Removes a label from the statistics; its postings are skipped from now on. */
  remove(label: number): void {
    const length = label < this.lengths.length ? this.lengths[label] : -1;
    if (length < 0) return;
    this.lengths[label] = -1;
    this.live -= 1;
    this.totalLength -= length;
    for (const term of this.termsOf.get(label) ?? []) this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 1) - 1);
    this.termsOf.delete(label);
  }

  /** Top `limit` labels by BM25 score for the query, restricted to labels the filter admits. */
  search(query: string, limit: number, filter?: (label: number) => boolean): { label: number; score: number }[] {
    const count = this.live;
    if (count === 0 || limit <= 0) return [];
    const averageLength = this.totalLength / count || 1;
    const { lengths, scores, touched } = this;
    let touchedCount = 0;
    for (const term of new Set(tokenize(query))) {
      const list = this.postings.get(term);
      const frequencyOfTerm = this.documentFrequency.get(term) ?? 0;
      if (!list || frequencyOfTerm <= 0) continue;
      const idf = Math.log(1 + (count - frequencyOfTerm + 0.5) / (frequencyOfTerm + 0.5));
      const { labels, frequencies } = list;
      for (let index = 0; index < labels.length; index += 1) {
        const label = labels[index];
        const length = lengths[label];
        if (length < 0) continue; // removed
        const frequency = frequencies[index];
        const termScore = (idf * frequency * (this.k1 + 1)) / (frequency + this.k1 * (1 - this.b + (this.b * length) / averageLength));
        if (scores[label] === 0) touched[touchedCount++] = label;
        scores[label] += termScore;
      }
    }
    const top = new TopK(limit);
    for (let index = 0; index < touchedCount; index += 1) {
      const label = touched[index];
      // Reset as we go so the shared buffer is zero for the next query.
      const score = scores[label];
      scores[label] = 0;
      if (!filter || filter(label)) top.push(label, score);
    }
    return top.sorted();
  }
}
