import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, for tests that read seeds/, docs/ or python/. */
export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
