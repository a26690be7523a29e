import { Registry } from "../core/registry.js";
import type { Platform } from "../core/types.js";
import { CPU_PLATFORM } from "./cpu.js";
import { CUDA_PLATFORM } from "./cuda.js";
import { TRITON_PLATFORM } from "./triton.js";
import { RuntimeClient, type RuntimeClientOptions } from "./runtime-client.js";
import { RuntimePlatform, type RuntimePlatformDefinition } from "./runtime-platform.js";

export { ConcurrencyLimit } from "./concurrency-limit.js";
export { CPU_PLATFORM, createCpuPlatform } from "./cpu.js";
export { CUDA_PLATFORM } from "./cuda.js";
export { TRITON_PLATFORM } from "./triton.js";
export { RuntimeClient, type RuntimeClientOptions, type RuntimeEvent, type RequestOptions } from "./runtime-client.js";
export { RuntimePlatform, type RuntimePlatformDefinition, type RuntimePlatformOptions } from "./runtime-platform.js";
export { minimalEnvironment, runPythonJson, type PythonCommandOptions } from "./python-process.js";

/**
 * The platforms the Python runtime implements, in registry order. cuda and triton join this list
 * as definitions (data), so every built-in platform goes through the same factory.
 */
export const BUILTIN_RUNTIME_PLATFORMS: readonly RuntimePlatformDefinition[] = [CPU_PLATFORM, CUDA_PLATFORM, TRITON_PLATFORM];

/** The built-in platforms, sharing one runtime process, and the function that stops it. */
export interface BuiltinPlatforms {
  registry: Registry<Platform>;
  client: RuntimeClient;
  /** Stops the shared runtime; the platforms' own close() leaves it running for the others. */
  close(): Promise<void>;
}

/**
 * Builds the registry of built-in platforms on one shared runtime client; nothing starts until a
 * platform is first used.
 * @example
 * const { registry, close } = createBuiltinPlatforms({ python: ".venv/bin/python", pythonPath: "python" });
 * try { await registry.get("cpu").evaluate(spec, candidate); } finally { await close(); }
 */
export function createBuiltinPlatforms(
  runtime: RuntimeClientOptions,
  definitions: readonly RuntimePlatformDefinition[] = BUILTIN_RUNTIME_PLATFORMS,
): BuiltinPlatforms {
  const client = new RuntimeClient(runtime);
  const registry = new Registry<Platform>("platform");
  for (const definition of definitions) registry.register(new RuntimePlatform(definition, { client, ownsClient: false }));
  return { registry, client, close: () => client.close() };
}
