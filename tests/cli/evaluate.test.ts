import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { languageOf } from "../../cli/commands/evaluate.js";
import { EXIT_CODES } from "../../cli/command.js";
import { FAKE_PYTHON, ROOT, runCli, runCliInProcess } from "./cli-process.js";

let work: string;
let fake: Record<string, string>;
const kernel = (name: string, source: string) => {
  const path = join(work, name);
  writeFileSync(path, source);
  return path;
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "kernelevolve-evaluate-"));
  fake = { KERNELEVOLVE_PYTHON: FAKE_PYTHON, KERNELEVOLVE_CACHE: join(work, "cache") };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("languageOf", () => {
  test("follows the extension, and for .py whether the file holds a Triton kernel", () => {
    expect(languageOf("k.cpp", "")).toBe("cpp");
    expect(languageOf("k.CC", "")).toBe("cpp");
    expect(languageOf("k.cu", "")).toBe("cuda");
    expect(languageOf("k.py", "import triton\n@triton.jit\ndef k(): pass")).toBe("triton");
    expect(languageOf("k.py", "class ModelNew: pass")).toBe("python");
    // A KernelBench ModelNew whose kernels are @triton.jit is still a ModelNew module (issue #13.3).
    expect(languageOf("k.py", "import triton\n@triton.jit\ndef relu(x_ptr): pass\n\nclass ModelNew(nn.Module):\n    pass\n")).toBe("python");
    expect(() => languageOf("k.rs", "")).toThrow(/extension '.rs'/);
  });
});

describe("kernelevolve evaluate (fake runtime)", () => {
  test("prints a readable verdict for a passing kernel and exits 0", async () => {
    const run = await runCliInProcess(["evaluate", "layernorm", kernel("good.cpp", "// a good kernel"), "--size", "small", "--size", "medium"], fake);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(EXIT_CODES.ok);
    expect(run.stdout).toMatch(/layernorm · cpu · .*good\.cpp \(cpp\)/);
    expect(run.stdout).toMatch(/✓ compile .*compiled in/);
    expect(run.stdout).toMatch(/✓ correctness .*6\/6 trials, max abs error 1\.00e-7/);
    expect(run.stdout).toMatch(/small\s+500\.00 µs\s+1\.000 ms\s+2\.00x/);
    expect(run.stdout).toMatch(/medium\s+500\.00 µs/);
    expect(run.stdout).toContain("PASSED  speed-up 2.00x (geomean)");
  });

  test("--json prints one object for a wrong kernel and exits 1", async () => {
    const run = await runCliInProcess(["evaluate", "layernorm", kernel("wrong.cpp", "// WRONG"), "--trials", "2", "--json"], fake);
    expect(run.status).toBe(EXIT_CODES.candidateFailed);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ spec: "layernorm", language: "cpp", status: "failed", reason: "wrong_output", stage: "correctness" });
    expect(result.trials).toHaveLength(6); // 2 trials x 3 sizes: --trials reached the runtime
    expect(result.mismatch.firstIndex).toEqual([0, 1]);
  });

  test("shows a compile failure with the failed stage and the compiler's log", async () => {
    const run = await runCliInProcess(["evaluate", "layernorm", kernel("broken.cpp", "// COMPILE_ERROR"), "--size", "small"], fake);
    expect(run.status).toBe(EXIT_CODES.candidateFailed);
    expect(run.stdout).toMatch(/✗ compile/);
    expect(run.stdout).toMatch(/· correctness/);
    expect(run.stdout).toContain("FAILED (compile_error)");
    expect(run.stdout).toContain("error: expected ';' before '}' token");
  });
});

describe("kernelevolve evaluate: bad input is one clear message and a non-zero exit", () => {
  test("an unknown spec id lists the available ones", () => {
    const run = runCli(["evaluate", "layernrom", kernel("a.cpp", "// ok")], fake);
    expect(run.status).toBe(EXIT_CODES.usage);
    expect(run.stderr).toMatch(/no spec named 'layernrom'\. Available: .*layernorm/);
    expect(run.stdout).toBe("");
  });

  test("a bad spec file names the file, the bad field and what was expected", () => {
    const path = join(ROOT, "tests", "cli", "fixtures", "bad-spec.yaml");
    const run = runCli(["evaluate", path, kernel("b.cpp", "// ok")], fake);
    expect(run.status).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain(`invalid spec ${path}`);
    expect(run.stderr).toMatch(/inputs\[0\]\.dtype: .*'float32'/);
  });

  test("an unknown platform lists the registered ones", () => {
    const run = runCli(["evaluate", "layernorm", kernel("c.cpp", "// ok"), "--platform", "tpu"], fake);
    expect(run.status).toBe(EXIT_CODES.usage);
    expect(run.stderr).toMatch(/unknown platform 'tpu'\. Available: cpu/);
  });

  test("bad flags, unknown sizes and missing files are usage errors", async () => {
    const file = kernel("d.cpp", "// ok");
    const zeroTrials = await runCliInProcess(["evaluate", "layernorm", file, "--trials", "0"], fake);
    expect([zeroTrials.status, zeroTrials.stderr]).toEqual([EXIT_CODES.usage, expect.stringContaining("--trials expects a positive integer, got '0'")]);
    const size = await runCliInProcess(["evaluate", "layernorm", file, "--size", "huge"], fake);
    expect([size.status, size.stderr]).toEqual([EXIT_CODES.usage, expect.stringContaining("no size huge. Available: small, medium, large")]);
    const missing = await runCliInProcess(["evaluate", "layernorm", join(work, "nope.cpp")], fake);
    expect([missing.status, missing.stderr]).toEqual([EXIT_CODES.usage, expect.stringContaining("kernel file not found")]);
  });

  test("a runtime that cannot start is a platform failure (exit 3) with the reason", async () => {
    const run = await runCliInProcess(["evaluate", "layernorm", kernel("e.cpp", "// ok")], { KERNELEVOLVE_PYTHON: join(work, "no-python") });
    expect(run.status).toBe(EXIT_CODES.platform);
    expect(run.stderr).toMatch(/platform 'cpu' is not available here: cannot start .*no-python/);
  });
});

const realRuntime = existsSync(join(ROOT, "python", "kernelevolve_runtime", "__main__.py"));
(realRuntime ? describe : describe.skip)("kernelevolve evaluate (real runtime and g++)", () => {
  test("the layernorm baseline passes at its smallest size", () => {
    const run = runCli(
      ["evaluate", "layernorm", join(ROOT, "seeds", "kernels", "cpu", "layernorm", "baseline.cpp"), "--size", "small", "--min-time-ms", "20", "--json"],
      { KERNELEVOLVE_CACHE: join(work, "real-cache") },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(EXIT_CODES.ok);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ status: "passed", platform: "cpu", stage: "done" });
    expect(result.timings.map((timing: { size: string }) => timing.size)).toEqual(["small"]);
  });
});
