import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// The layering (README's architecture diagram): each folder may import only the folders listed for it,
// so imports point one way, from the entry points (cli/, bench/, index.ts) through the application
// layer (app/) down to core/. The entry points never import one another: the library and the
// benchmarks reach everything through app/, not through the CLI.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const below = ["core", "platforms", "retrieval", "tools", "agents", "graphs"];
const allowed: Record<string, string[]> = {
  core: [],
  platforms: ["core"],
  retrieval: ["core"],
  tools: ["core", "platforms", "retrieval"],
  agents: ["core", "platforms", "retrieval", "tools"],
  graphs: ["core", "platforms", "retrieval", "tools", "agents"],
  app: [...below, "app"],
  cli: [...below, "app", "cli"],
  bench: [...below, "app", "bench"],
  "index.ts": [...below, "app"],
  // The TypeScript/Python contract files are generated from core's zod schemas and nothing else.
  contract: ["core"],
};
const entryPoints = ["cli", "bench", "index.ts"];

function sourceFiles(directory: string): string[] {
  let files: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(directory);
  } catch {
    return files;
  }
  for (const entry of entries) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) files = files.concat(sourceFiles(path));
    else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = new Set<string>();
  for (const match of text.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const specifier = match[1] ?? match[2];
    if (specifier.startsWith(".")) specifiers.add(specifier);
  }
  return [...specifiers].map((specifier) => resolve(dirname(file), specifier).replace(/\.js$/, ".ts"));
}

const layerOf = (path: string) => relative(root, path).split("/")[0];

/** The file's imports that bring values (not `import type`), as resolved paths. */
function valueImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^import\s+(?!type\s)([^'"]*?)\s+from\s*["'](\.[^"']+)["']/gm)) {
    // `import { type A, type B }` brings no value either.
    const names = match[1].replace(/^\{|\}$/g, "").split(",").map((name) => name.trim()).filter(Boolean);
    if (names.length && names.every((name) => name.startsWith("type "))) continue;
    found.push(resolve(dirname(file), match[2]).replace(/\.js$/, ".ts"));
  }
  return found;
}

/** The engine's entry: the run assembly and resume of the evolve graph. */
const engineEntry = join(root, "graphs", "evolve", "optimize.ts");
/** What app/ chooses for a run and the engine must be handed: the operator factories and the selection policies. */
const engineDefaults = [
  join(root, "agents", "autotune-operator.ts"),
  join(root, "agents", "llm-operator-factory.ts"),
  ...["index", "registry", "greedy", "tournament", "ucb-tree", "map-elites"].map((name) => join(root, "graphs", "policies", `${name}.ts`)),
];
/** A comparison with a built-in operator's id, either way round. */
const operatorIdComparison = /[!=]==?\s*["'](?:autotune|llm)["']|["'](?:autotune|llm)["']\s*[!=]==?/;

/** Every file a file reaches through value imports, itself excluded. */
function valueClosure(start: string, importsOf: (file: string) => string[] = (file) => { try { return valueImports(file); } catch { return []; } }): Set<string> {
  const seen = new Set<string>();
  const queue = [...importsOf(start)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...importsOf(file));
  }
  return seen;
}

describe("architecture", () => {
  const files = Object.keys(allowed).flatMap((layer) => (layer.endsWith(".ts") ? [join(root, layer)] : sourceFiles(join(root, layer))));

  test("the layers exist and hold code", () => {
    expect(files.filter((file) => layerOf(file) === "core").length).toBeGreaterThan(3);
    expect(files.filter((file) => layerOf(file) === "cli").length).toBeGreaterThan(2);
    expect(files.filter((file) => layerOf(file) === "app").length).toBeGreaterThan(5);
    expect(files.filter((file) => layerOf(file) === "index.ts")).toHaveLength(1);
  });

  test("the allowed imports themselves keep the entry points apart and graphs below app", () => {
    for (const entry of entryPoints) for (const other of entryPoints) if (other !== entry) expect(allowed[entry]).not.toContain(other);
    for (const layer of [...below, "app"]) for (const entry of entryPoints) expect(allowed[layer]).not.toContain(entry);
    expect(allowed.graphs).not.toContain("app");
  });

  test("entry points assemble runs through app/: none calls the engine's optimize() or resumeRun() itself", () => {
    const engine = join(root, "graphs", "evolve", "optimize.ts");
    const callers = files.filter((file) => entryPoints.includes(layerOf(file)) && valueImports(file).includes(engine)).map((file) => relative(root, file));
    expect(callers).toEqual([]);
  });

  test("what an operator needs is its capability, not a comparison of its id outside the operator table", () => {
    // The whole engine (graphs/: run assembly, resume, the graph's nodes) is held to it too.
    const comparisons = files
      .filter((file) => ["app", "graphs", ...entryPoints].includes(layerOf(file)))
      .filter((file) => operatorIdComparison.test(readFileSync(file, "utf8")))
      .map((file) => relative(root, file));
    expect(comparisons).toEqual([]);
  });

  test("the engine holds no defaults app/ owns: optimize() reaches no operator factory and no policy module", () => {
    const reached = [...valueClosure(engineEntry)].filter((file) => engineDefaults.includes(file)).map((file) => relative(root, file));
    expect(reached).toEqual([]);
    // The factories by name too, should one be reached some other way (a re-export, a dynamic import).
    const text = readFileSync(engineEntry, "utf8");
    expect(text).not.toMatch(/createAutotuneOperator|createPolicyRegistry|createGreedyPolicy|createLlmOperator/);
  });

  test("the engine-defaults check can fail: it sees a policy module reached through another file", () => {
    // A stand-in import graph: the engine imports a helper that imports the greedy policy.
    const helper = join(root, "graphs", "evolve", "helper.ts");
    const greedy = join(root, "graphs", "policies", "greedy.ts");
    const fake = new Map([[engineEntry, [helper]], [helper, [greedy]], [greedy, []]]);
    expect([...valueClosure(engineEntry, (file) => fake.get(file) ?? [])].filter((file) => engineDefaults.includes(file))).toEqual([greedy]);
    expect(operatorIdComparison.test('const operator = options.operator ?? (run.operator !== "autotune" ? undefined : rebuild());')).toBe(true);
  });

  test("imports between top-level folders point only down the layers", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const target of relativeImports(file)) {
        const to = layerOf(target);
        if (to === from || !(to in allowed)) continue;
        if (!allowed[from].includes(to)) violations.push(`${relative(root, file)} imports ${relative(root, target)} (${from} -> ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  test("there are no import cycles between files", () => {
    const graph = new Map(files.map((file) => [file, relativeImports(file).filter((target) => target.endsWith(".ts"))]));
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((item) => relative(root, item)).join(" -> "));
        return;
      }
      state.set(file, "visiting");
      for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  test("only the entry points read process.env (the library only the runtime's Python, below)", () => {
    // python-process.ts forwards PATH/HOME/locale to subprocesses (never configuration or keys).
    const exempt = new Set(["platforms/python-process.ts", "index.ts"]);
    const readers = files
      .filter((file) => !["cli", "bench"].includes(layerOf(file)) && !exempt.has(relative(root, file)))
      .filter((file) => /process\.env\b/.test(readFileSync(file, "utf8")))
      .map((file) => relative(root, file));
    expect(readers).toEqual([]);
  });

  test("the library entry reads one environment variable, the runtime's Python, as the CLI does", () => {
    const reads = [...readFileSync(join(root, "index.ts"), "utf8").matchAll(/process\.env(?:\.(\w+))?/g)].map((match) => match[1] ?? "(all)");
    expect(reads).toEqual(["KERNELEVOLVE_PYTHON"]);
  });
});
