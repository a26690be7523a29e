import { OpenAIEmbeddings } from "@langchain/openai";
import type { Embedder } from "./embedder.js";

/** Settings of an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp server). */
export interface OpenAIEmbedderOptions {
  /** Model name, e.g. "text-embedding-3-small" or a local model's name. */
  model: string;
  /** Vector length the model returns (asked of models that support it, checked on every call). */
  dimensions: number;
  /** Base URL of the endpoint, e.g. "http://localhost:8000/v1"; default: OpenAI's. */
  baseURL?: string;
  /** API key; local servers usually accept any string. */
  apiKey?: string;
  /** Texts per request. */
  batchSize?: number;
  /** Whether to send `dimensions` in the request (only text-embedding-3 and later accept it). */
  requestDimensions?: boolean;
}

/** Embedder backed by an OpenAI-compatible `/embeddings` endpoint through @langchain/openai. */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  private readonly client: OpenAIEmbeddings;

  constructor(options: OpenAIEmbedderOptions) {
    if (!options.model) throw new TypeError("OpenAIEmbedder: a model name is required");
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new RangeError(`OpenAIEmbedder: dimensions must be a positive integer, got ${options.dimensions}`);
    }
    this.dimensions = options.dimensions;
    this.id = `openai-${options.model}-${options.dimensions}`;
    this.client = new OpenAIEmbeddings({
      model: options.model,
      dimensions: options.requestDimensions ? options.dimensions : undefined,
      apiKey: options.apiKey ?? "unused",
      batchSize: options.batchSize ?? 128,
      // Ask for plain floats: local servers (vLLM, Ollama, llama.cpp) do not all implement base64.
      encodingFormat: "float",
      configuration: options.baseURL ? { baseURL: options.baseURL } : undefined,
    });
  }

  private check(vectors: number[][]): number[][] {
    for (const vector of vectors) {
      if (vector.length !== this.dimensions) {
        throw new Error(`OpenAIEmbedder: the endpoint returned ${vector.length} dimensions, configured ${this.dimensions}`);
      }
    }
    return vectors;
  }

  /** Embeds documents for indexing. */
  async embedDocuments(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    return this.check(await this.client.embedDocuments(texts));
  }

  /** Embeds one query. */
  async embedQuery(text: string): Promise<number[]> {
    return this.check([await this.client.embedQuery(text)])[0];
  }
}
