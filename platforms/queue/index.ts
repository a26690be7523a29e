export { FleetClient, type FleetClientOptions, type JobOutcome } from "./fleet-client.js";
export { startFleetWorker, type FleetWorkerHandle, type FleetWorkerOptions } from "./fleet-worker.js";
export { QueuePlatform, workerCrashResult, type QueuePlatformDefinition, type QueuePlatformOptions } from "./queue-platform.js";
export { createLatencyPlatform, LATENCY_PLATFORM_ID, type LatencyPlatformOptions } from "./latency-platform.js";
export { listWorkers, type WorkerRegistration } from "./registry.js";
export { DEFAULT_TAG, queueName, parseQueueName, jobIdFor, evaluationKey } from "./names.js";
export { parseQueueUrl, redactUrl, createRedisConnection } from "./connection.js";
export { fleetStatus, type FleetStatus } from "./status.js";
export { fleetRegistry, type FleetSettings } from "./fleet-platforms.js";
