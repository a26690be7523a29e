// Bundles the compiled CLI (dist/cli, from tsc) with its npm dependencies into dist/cli-bundle, so
// `kernelevolve <command>` loads a few large files instead of the ~1,000 small modules of LangChain
// and friends (docs/decisions/2026-12-07-package-build.md). Each command stays its own entry point,
// loaded on demand by main.js; code they share goes to chunks/. Native addons stay external.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "dist", "cli");
const commands = readdirSync(join(compiled, "commands")).filter((file) => file.endsWith(".js"));

await build({
  absWorkingDir: root,
  entryPoints: [join(compiled, "main.js"), ...commands.map((file) => join(compiled, "commands", file))],
  outbase: compiled,
  outdir: join(root, "dist", "cli-bundle"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunks/[name]-[hash]",
  // Packages with native addons load from node_modules as usual (msgpackr-extract is bullmq's optional
  // one), and so does tsx, an optional peer dependency for TypeScript plugins.
  external: ["better-sqlite3", "hnswlib-node", "msgpackr-extract", "tsx", "tsx/*"],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: { js: 'import { createRequire as __kernelevolveCreateRequire } from "node:module"; const require = __kernelevolveCreateRequire(import.meta.url);' },
  logLevel: "warning",
  legalComments: "none",
});
