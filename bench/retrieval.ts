/**
 * Retrieval benchmark: quality on the labelled query set over seeds/docs (recall@5, MRR), then query
 * latency (p50/p99) and index build time at 1k, 10k and 100k chunks (synthetic chunks made from the
 * seed vocabulary beyond the real ones). Usage: npm run bench:retrieval [-- --sizes 1000,10000]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chunkDocument, type Chunk } from "../retrieval/chunking.js";
import { evaluateRetrieval, parseLabelledQueries } from "../retrieval/evaluation.js";
import { KnowledgeStore } from "../retrieval/knowledge-store.js";
import { loadDocuments } from "../retrieval/load-documents.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const sizesArgument = process.argv.indexOf("--sizes");
const sizes = sizesArgument > 0 ? process.argv[sizesArgument + 1].split(",").map(Number) : [1_000, 10_000, 100_000];

// Deterministic pseudo-random numbers so runs are comparable.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

async function main(): Promise<void> {
  const documents = loadDocuments([join(root, "seeds", "docs")]);
  const queries = parseLabelledQueries(JSON.parse(readFileSync(join(root, "tests", "retrieval", "queries.json"), "utf8")));
  const directories: string[] = [];
  const scratch = () => {
    const directory = mkdtempSync(join(tmpdir(), "ke-bench-retrieval-"));
    directories.push(directory);
    return directory;
  };

  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, node ${process.version}`);
  const store = await KnowledgeStore.open({ directory: scratch() });
  const started = performance.now();
  const report = await store.sync(documents);
  const buildMs = performance.now() - started;
  const quality = await evaluateRetrieval(store, queries, 5);
  console.log(`quality: ${documents.length} documents, ${report.total} chunks (built in ${buildMs.toFixed(0)} ms), ${queries.length} labelled queries`);
  console.log(`  recall@5 ${quality.recallAtK.toFixed(3)}  MRR ${quality.meanReciprocalRank.toFixed(3)}`);
  for (const miss of quality.misses) console.log(`  miss: "${miss.query}" -> ${miss.got.join(", ")}`);

  const realChunks = documents.flatMap((document) => chunkDocument(document));
  const words = realChunks.flatMap((chunk) => chunk.text.split(/\s+/).filter((word) => word.length > 1));
  // Wall time on a shared VM includes waiting for a core; CPU time of this process shows the cost itself.
  console.log(`\nload average at start: ${loadavg().map((value) => value.toFixed(1)).join(" ")}`);
  console.log("chunks     build s   per-chunk ms   query p50 ms   query p99 ms   query CPU p50 ms");
  for (const size of sizes) {
    const random = mulberry32(size);
    const chunks: Chunk[] = [...realChunks];
    for (let index = chunks.length; index < size; index += 1) {
      const template = realChunks[Math.floor(random() * realChunks.length)];
      const length = 60 + Math.floor(random() * 140);
      const text = Array.from({ length }, () => words[Math.floor(random() * words.length)]).join(" ");
      chunks.push({ ...template, id: `synthetic-${Math.floor(index / 4)}#part-${index % 4}`, documentId: `synthetic-${Math.floor(index / 4)}`, text });
    }
    const scaled = await KnowledgeStore.open({ directory: scratch() });
    const buildStart = performance.now();
    await scaled.applyChunks(chunks.slice(0, size), { prune: "all" });
    const buildSeconds = (performance.now() - buildStart) / 1000;
    const latencies: number[] = [];
    const cpuTimes: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      for (const query of queries) {
        const start = performance.now();
        const cpuStart = process.cpuUsage();
        await scaled.search({ text: query.query, limit: 5 });
        const cpu = process.cpuUsage(cpuStart);
        latencies.push(performance.now() - start);
        cpuTimes.push((cpu.user + cpu.system) / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    cpuTimes.sort((a, b) => a - b);
    console.log(
      `${String(size).padStart(7)}   ${buildSeconds.toFixed(1).padStart(7)}   ${((buildSeconds * 1000) / size).toFixed(2).padStart(12)}   ` +
        `${percentile(latencies, 0.5).toFixed(2).padStart(12)}   ${percentile(latencies, 0.99).toFixed(2).padStart(12)}   ${percentile(cpuTimes, 0.5).toFixed(2).padStart(16)}`,
    );
  }
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
