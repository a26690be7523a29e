/** The committed contract files (contract/) are what the zod schemas give now, and say what the zod schemas say. */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { contractFiles, protocolSchema, specSchema } from "../../contract/schemas.js";
import { PROTOCOL_VERSION } from "../../core/protocol.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("contract files", () => {
  const files = contractFiles(root);
  it.each(Object.keys(files))("%s is current (else run `npm run contract:schemas`)", (path) => {
    let committed: string;
    try {
      committed = readFileSync(join(root, path), "utf8");
    } catch {
      throw new Error(`${path} is missing: run \`npm run contract:schemas\` and commit it`);
    }
    if (committed !== files[path]) throw new Error(`${path} is stale: the zod schemas changed; run \`npm run contract:schemas\` and commit it`);
  });

  it("the spec schema carries the spec's defaults and descriptions", () => {
    const spec = specSchema().definitions.KernelSpec as { properties: Record<string, { default?: unknown; description?: string }>; required: string[] };
    expect(spec.properties.targets.default).toEqual(["cpu"]);
    expect(spec.properties.constraints.default).toEqual({ forbiddenCalls: [] });
    expect(spec.required).toEqual(expect.arrayContaining(["id", "description", "category", "inputs", "outputs", "reference", "sizes"]));
    expect(spec.required).not.toContain("targets");
    expect(spec.properties.sizes.description).toMatch(/At least two/);
  });

  it("the protocol schema names its version and every request method", () => {
    const schema = protocolSchema();
    expect(schema.protocolVersion).toBe(PROTOCOL_VERSION);
    const request = schema.definitions.RuntimeRequest as { anyOf: { properties: { method: { const: string } } }[] };
    expect(request.anyOf.map((entry) => entry.properties.method.const)).toEqual(["hello", "evaluate", "time_reference", "hardware_profile", "shutdown"]);
  });
});
