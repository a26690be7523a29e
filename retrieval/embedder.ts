/** Turns texts into vectors for the nearest-neighbour index. */
export interface Embedder {
  /** Stable id; an index built with one embedder is never queried with another. */
  readonly id: string;
  /** Length of every vector it returns. */
  readonly dimensions: number;
  /** Embeds documents (chunks) for indexing. */
  embedDocuments(texts: string[]): Promise<number[][]>;
  /** Embeds one query. */
  embedQuery(text: string): Promise<number[]>;
}
