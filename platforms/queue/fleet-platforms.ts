import { Registry } from "../../core/registry.js";
import type { Platform } from "../../core/types.js";
import { parseQueueUrl } from "./connection.js";
import { FleetClient } from "./fleet-client.js";
import { checkName } from "./names.js";
import { QueuePlatform } from "./queue-platform.js";

/** Where an orchestrator sends its evaluations: a Redis URL and, optionally, a hardware tag. */
export interface FleetSettings {
  queue: string;
  tag?: string;
}

/**
 * The orchestrator's registry when a fleet is configured: every platform of the local registry
 * (built-in or plugin) becomes a QueuePlatform with the same id, languages and capabilities, all on
 * one shared Redis client. The local platforms stay untouched (a worker uses those).
 */
export function fleetRegistry(local: Registry<Platform>, settings: FleetSettings, originOf: (id: string) => string = () => "built-in"): { registry: Registry<Platform>; client: FleetClient } {
  const url = parseQueueUrl(settings.queue);
  const tag = settings.tag === undefined ? undefined : checkName("tag", settings.tag);
  const client = new FleetClient({ url });
  const registry = new Registry<Platform>("platform");
  for (const platform of local.values()) {
    registry.register(new QueuePlatform({ id: platform.id, languages: platform.languages, description: platform.description, capabilities: platform.capabilities }, { client, tag }), originOf(platform.id));
  }
  return { registry, client };
}
