import { join, resolve } from "node:path";
import { z } from "zod";
import { defineCommand, EXIT_CODES } from "../command.js";
import type { CliContext } from "../context.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";
import { HashingEmbedder } from "../../retrieval/hashing-embedder.js";
import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { OpenAIEmbedder } from "../../retrieval/openai-embedder.js";
import type { Embedder } from "../../retrieval/embedder.js";

const options = {
  rebuild: option(z.boolean().default(false).describe("Drop the index and embed every chunk again")),
  platform: option(z.string().min(1).optional().describe("Only documents for this platform (or 'any')"), "ID"),
  language: option(z.string().min(1).optional().describe("Only documents for this language (or 'any')"), "ID"),
  limit: option(z.number().int().min(1).default(5).describe("Number of results (default 5)"), "N"),
  json: option(COMMON_OPTIONS.json.schema.describe("Print results as JSON")),
  embeddingModel: option(
    z.string().min(1).optional().describe("Use an OpenAI-compatible embeddings endpoint (base URL and key from KERNELEVOLVE_BASE_URL / KERNELEVOLVE_API_KEY) instead of the offline embedder"),
    "NAME",
  ),
  embeddingDimensions: option(z.number().int().min(1).default(1536).describe("Vector length of that model (default 1536)"), "N"),
};

const USAGE = `
Usage:
  kernelevolve docs index [--rebuild] [folder ...]
  kernelevolve docs search "<query>" [--platform cpu] [--language cpp] [--limit 5] [--json] [folder ...]

Indexes the knowledge base (seeds/docs plus any extra folders of markdown documents with YAML
front-matter) into the docs index under the cache directory, and searches it. Indexing is
incremental: only chunks whose text changed are embedded again. 'search' brings the index up to
date first.

Options:
${optionsHelp(options)}
`;

function embedderFor(model: string | undefined, dimensions: number, context: CliContext): Embedder {
  if (!model) return new HashingEmbedder();
  return new OpenAIEmbedder({ model, dimensions, baseURL: context.model.baseUrl, apiKey: context.model.apiKey });
}

export default defineCommand({
  name: "docs",
  summary: "Index and search the kernel knowledge base used in prompts",
  usage: USAGE,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine(argv, options, USAGE, { expected: "'index' or 'search' and its arguments", min: 0, max: Number.POSITIVE_INFINITY });
    const [action, ...rest] = positionals;
    if (action !== "index" && action !== "search") {
      context.stderr.write(`kernelevolve docs: expected 'index' or 'search', got '${action ?? ""}'\n${USAGE.trim()}\n`);
      return EXIT_CODES.usage;
    }
    const query = action === "search" ? rest.shift() : undefined;
    if (action === "search" && !query?.trim()) {
      context.stderr.write(`kernelevolve docs search: a query is required, e.g. kernelevolve docs search "warp shuffle reduction"\n`);
      return EXIT_CODES.usage;
    }
    const { limit } = values;
    const embedder = embedderFor(values.embeddingModel, values.embeddingDimensions, context);
    const folders = [join(context.root, "seeds", "docs"), ...rest.map((folder) => resolve(context.cwd, folder))];
    const directory = join(context.cacheDirectory, "docs-index", embedder.id);
    const store = await KnowledgeStore.open({ directory, embedder, rebuild: values.rebuild });
    if (store.resetReason) context.stderr.write(`kernelevolve docs: rebuilding the index (${store.resetReason})\n`);
    const started = performance.now();
    const report = await store.sync(loadDocuments(folders));

    if (action === "index") {
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      context.stdout.write(
        `Indexed ${report.total} chunks from ${folders.length} folder(s) in ${seconds} s: ${report.added} added, ${report.updated} updated, ` +
          `${report.unchanged} unchanged, ${report.deleted} deleted (${report.embedded} embedded with ${embedder.id}).\nIndex: ${directory}\n`,
      );
      return EXIT_CODES.ok;
    }

    const hits = await store.search({ text: query!, platform: values.platform, language: values.language, limit });
    if (values.json) {
      const rows = hits.map((hit) => ({
        id: hit.chunk.id,
        documentId: hit.chunk.documentId,
        title: hit.chunk.title,
        score: hit.score,
        vectorScore: hit.vectorScore,
        lexicalScore: hit.lexicalScore,
        platform: hit.chunk.platform,
        language: hit.chunk.language,
        text: hit.chunk.text,
      }));
      context.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return EXIT_CODES.ok;
    }
    if (hits.length === 0) {
      context.stdout.write(`No documents match '${query}'${values.platform ? ` for platform ${values.platform}` : ""}.\n`);
      return EXIT_CODES.ok;
    }
    hits.forEach((hit, index) => {
      const preview = hit.chunk.text.replace(/\s+/g, " ").slice(0, 160);
      context.stdout.write(`${index + 1}. ${hit.chunk.title}  [${hit.chunk.id}]  score ${hit.score.toFixed(4)}\n   ${preview}...\n`);
    });
    return EXIT_CODES.ok;
  },
});
