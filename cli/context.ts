import { openComposition, type Composition } from "../app/composition.js";
import { environmentFromVariables, type AppEnvironment } from "../app/environment.js";
import type { ModelConfig } from "../agents/models.js";

/** Everything a command needs from the outside world, resolved once from argv/env by the CLI. */
export interface CliContext extends AppEnvironment {
  /** Model settings, from the environment; undefined model means the offline default. */
  model: { name?: string; baseUrl?: string; apiKey?: string };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Environment, read only by the CLI layer. */
  env: NodeJS.ProcessEnv;
  /** Plugin modules named by the global --plugin flag (app/project-config.ts loads them). */
  pluginPaths?: string[];
}

/** Resolves the CLI context from the process environment (the only place that reads it). */
export function createCliContext(env: NodeJS.ProcessEnv = process.env, overrides: Partial<CliContext> = {}): CliContext {
  return {
    ...environmentFromVariables(env, process.cwd()),
    model: {
      name: env.KERNELEVOLVE_MODEL ?? (env.OPENAI_API_KEY ? env.OPENAI_MODEL : undefined),
      baseUrl: env.KERNELEVOLVE_BASE_URL ?? env.OPENAI_BASE_URL,
      apiKey: env.KERNELEVOLVE_API_KEY ?? env.OPENAI_API_KEY,
    },
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env,
    ...overrides,
  };
}

/** The model a command uses: --model/--base-url over the environment's; undefined when neither names one (offline). */
export function modelFromFlags(context: CliContext, flags: { model?: string; baseUrl?: string }, prices: Partial<Pick<ModelConfig, "inputCostPerMillion" | "outputCostPerMillion">> = {}): ModelConfig | undefined {
  const name = flags.model ?? context.model.name;
  return name ? { name, baseUrl: flags.baseUrl ?? context.model.baseUrl, apiKey: context.model.apiKey, ...prices } : undefined;
}

/** The CLI's choices on top of the context: more spec folders (--specs-dir), the model, the fleet (--queue/--tag; false: local). */
export interface CliCompositionChoices {
  specsDirectories?: string[];
  model?: ModelConfig;
  fleet?: { queue?: string; tag?: string } | false;
}

/**
 * Opens the composition of a command: the project config, the --plugin modules, the model (flags,
 * else the environment's) and the fleet (flags, else KERNELEVOLVE_QUEUE(_TAG), else the config).
 */
export function openCliComposition(context: CliContext, choices: CliCompositionChoices = {}): Promise<Composition> {
  const model = choices.model ?? (context.model.name ? { name: context.model.name, baseUrl: context.model.baseUrl, apiKey: context.model.apiKey } : undefined);
  const fleet = choices.fleet === false ? false : { queue: choices.fleet?.queue ?? context.env.KERNELEVOLVE_QUEUE, tag: choices.fleet?.tag ?? context.env.KERNELEVOLVE_QUEUE_TAG };
  return openComposition({ environment: context, variables: context.env, model, projectConfig: true, plugins: context.pluginPaths, specsDirectories: choices.specsDirectories, fleet });
}
