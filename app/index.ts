/**
 * The application layer: everything an entry point (the CLI, the library API in index.ts, the
 * benchmarks) needs to resolve and run a request, between the evolve graph below and the entry
 * points above. Entry points import from here, never from each other.
 */
export { REPOSITORY_ROOT, environmentFromVariables, resolveEnvironment, type AppEnvironment } from "./environment.js";
export { compose, openComposition, type Composition, type ComposeOptions, type CompositionRequest } from "./composition.js";
export { builtinOperators, defaultOperatorId, type OperatorCapabilities, type OperatorProvider } from "./operators.js";
export { CONFIG_FILE_NAMES, loadPluginModule, loadPlugins, loadProjectConfig, type LoadedPlugin, type ProjectConfig, type ProjectDefaults } from "./project-config.js";
export { listSpecs, resolveSpec, seedKernelPath, specDirectories, type SpecEntry, type SpecSources } from "./spec-catalog.js";
export { DEFAULT_BUDGET, DEFAULT_PLATFORM, DEFAULT_POLICY, ModelOptionsSchema, RunOptionsSchema, parseDuration, runSettingsFromOptions, withDefaultBudget, type RunOptions, type RunSettingsRequest } from "./run-request.js";
export { resolveRun, resumeModel, resumeRun, runResolved, startRun, storedRunChoices, type ResolvedRun, type RunControl, type RunRequest, type StoredRunChoices } from "./start-run.js";
export { evaluateKernel, resolveEvaluation, type EvaluationRequest, type ResolvedEvaluation } from "./evaluate-kernel.js";
export { KernelActionService, type KernelActionServiceOptions } from "./kernel-actions.js";
export { openKernelChat, type KernelChat, type KernelChatOptions } from "./chat-session.js";
export { runSlashCommand, SLASH_HELP, type SlashResult } from "./slash-commands.js";
export { asKernelEvolveError, atBoundary } from "./boundary.js";
