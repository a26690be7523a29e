/** The graphs layer's public API: the evolve loop, its policies and its run folders. */
export { optimize, resumeRun, readRunConfig, type OptimizeOptions, type OptimizeResult, type ResumeOptions } from "./evolve/optimize.js";
export { streamEvents, type EventStream } from "./evolve/event-stream.js";
export type { OptimizeEvent, OptimizeEventType, RunProgress } from "./evolve/events.js";
export { RunSettingsSchema, type RunSettings, type RunSettingsInput } from "./evolve/options.js";
export { loadSeedKernels, seedFromSource, seedTemplates, type SeedKernel } from "./evolve/seeds.js";
export { terminationReason, type TerminationRules } from "./evolve/termination.js";
export { chooseMemoryMode } from "./evolve/memory-mode.js";
export { fitnessOf } from "./evolve/fitness.js";
export { createRandom } from "./evolve/random.js";
export * from "./policies/index.js";
export { RunDatabase, type RunRow, type RunStatus, type StoredCandidate } from "./runs/run-database.js";
export { listRunIds, newRunId, resolveRunFolder, runPaths, kernelExtension } from "./runs/run-paths.js";
export { writeRunReport } from "./runs/report/write-report.js";
export { collectReportData, type ReportData } from "./runs/report/report-data.js";
