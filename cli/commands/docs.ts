import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defineCommand, EXIT_CODES } from "../command.js";
import type { CliContext } from "../context.js";
import { UserError } from "../../core/errors.js";
import { HashingEmbedder } from "../../retrieval/hashing-embedder.js";
import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { OpenAIEmbedder } from "../../retrieval/openai-embedder.js";
import type { Embedder } from "../../retrieval/embedder.js";

const USAGE = `
Usage:
  kernelevolve docs index [--rebuild] [folder ...]
  kernelevolve docs search "<query>" [--platform cpu] [--language cpp] [--limit 5] [--json] [folder ...]

Indexes the knowledge base (seeds/docs plus any extra folders of markdown documents with YAML
front-matter) into the docs index under the cache directory, and searches it. Indexing is
incremental: only chunks whose text changed are embedded again. 'search' brings the index up to
date first.

Options:
  --rebuild                  drop the index and embed every chunk again
  --platform <id>            only documents for this platform (or 'any')
  --language <id>            only documents for this language (or 'any')
  --limit <n>                number of results (default 5)
  --json                     print results as JSON
  --embedding-model <name>   use an OpenAI-compatible embeddings endpoint (base URL and key from
                             KERNELEVOLVE_BASE_URL / KERNELEVOLVE_API_KEY) instead of the offline embedder
  --embedding-dimensions <n> vector length of that model (default 1536)
`;

function embedderFor(model: string | undefined, dimensions: string | undefined, context: CliContext): Embedder {
  if (!model) return new HashingEmbedder();
  const size = Number(dimensions ?? 1536);
  if (!Number.isInteger(size) || size < 1) throw new UserError("docs_flag", `--embedding-dimensions must be a positive integer, got '${dimensions}'`);
  return new OpenAIEmbedder({ model, dimensions: size, baseURL: context.model.baseUrl, apiKey: context.model.apiKey });
}

export default defineCommand({
  name: "docs",
  summary: "Index and search the kernel knowledge base used in prompts",
  usage: USAGE,
  async run(argv, context) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          rebuild: { type: "boolean", default: false },
          platform: { type: "string" },
          language: { type: "string" },
          limit: { type: "string", default: "5" },
          json: { type: "boolean", default: false },
          "embedding-model": { type: "string" },
          "embedding-dimensions": { type: "string" },
        },
      });
    } catch (error) {
      context.stderr.write(`kernelevolve docs: ${(error as Error).message}\n${USAGE.trim()}\n`);
      return EXIT_CODES.usage;
    }
    const { values, positionals } = parsed;
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
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UserError("docs_flag", `--limit must be a positive integer, got '${values.limit}'`);

    const embedder = embedderFor(values["embedding-model"], values["embedding-dimensions"], context);
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
