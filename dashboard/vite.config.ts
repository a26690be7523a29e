import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

// Builds the dashboard's client (dashboard/client) into a static bundle in dashboard/dist, which
// `kernelevolve dashboard` serves. Preact's JSX through esbuild; no plugin needed.
export default defineConfig({
  root: fileURLToPath(new URL("./client", import.meta.url)),
  base: "./",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
});
