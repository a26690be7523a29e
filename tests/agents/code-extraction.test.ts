import { applySearchReplace, extractCode } from "../../agents/code-extraction.js";

const kernel = 'extern "C" void kernel(const float* x, float* y, int64_t n) {\n  for (int64_t i = 0; i < n; ++i) y[i] = x[i];\n}\n';

describe("extractCode", () => {
  test("takes a single fenced block", () => {
    const result = extractCode(`Plan: copy.\n\`\`\`cpp\n${kernel}\`\`\`\n`, "cpp");
    expect(result).toMatchObject({ ok: true, method: "fenced", source: kernel });
  });

  test("with several blocks, takes the one holding the kernel entry, not the example", () => {
    const example = "g++ -O3 -march=native kernel.cpp\n";
    const reply = `Compile like this:\n\`\`\`bash\n${example}\`\`\`\nKernel:\n\`\`\`cpp\n${kernel}\`\`\`\nTest:\n\`\`\`cpp\nint main() { return 0; }\n\`\`\``;
    const result = extractCode(reply, "cpp");
    expect(result.ok && result.source).toBe(kernel);
  });

  test("applies SEARCH/REPLACE edits against the parent", () => {
    const reply = "Use a pragma.\n<<<<<<< SEARCH\n  for (int64_t i = 0; i < n; ++i) y[i] = x[i];\n=======\n  #pragma omp parallel for\n  for (int64_t i = 0; i < n; ++i) y[i] = x[i];\n>>>>>>> REPLACE\n";
    const result = extractCode(reply, "cpp", kernel);
    expect(result.ok).toBe(true);
    expect(result.ok && result.source).toContain("#pragma omp parallel for\n  for");
    expect(result.ok && result.method).toBe("search-replace");
  });

  test("a SEARCH block that is not in the parent is a reason, not a guess", () => {
    const reply = "<<<<<<< SEARCH\nint nothing_like_this;\n=======\nint y;\n>>>>>>> REPLACE\n";
    const result = extractCode(reply, "cpp", kernel);
    expect(result).toMatchObject({ ok: false });
    expect(!result.ok && result.reason).toMatch(/not found/);
  });

  test("a SEARCH block that matches twice is refused", () => {
    const parent = "int a;\nint a;\n";
    expect(applySearchReplace(parent, "<<<<<<< SEARCH\nint a;\n=======\nint b;\n>>>>>>> REPLACE")).toMatchObject({ ok: false });
  });

  test("a reply cut off inside its code block is rejected as truncated", () => {
    const reply = `\`\`\`cpp\nextern "C" void kernel(const float* x, float* y, int64_t n) {\n  for (int64_t i = 0; i < n; ++i) {\n    y[i] = x[i]`;
    const result = extractCode(reply, "cpp");
    expect(result).toMatchObject({ ok: false });
    expect(!result.ok && result.reason).toMatch(/truncated/);
  });

  test("a reply cut off after complete code is accepted", () => {
    const result = extractCode(`\`\`\`cpp\n${kernel}`, "cpp");
    expect(result).toMatchObject({ ok: true, method: "truncated-fence" });
  });

  test("prose without code is a failure with a reason", () => {
    expect(extractCode("I think you should use tiling and vectorization.", "cpp")).toMatchObject({ ok: false, reason: "no code found in the reply" });
    expect(extractCode("", "cpp")).toMatchObject({ ok: false, reason: "empty reply" });
  });

  test("finds a Triton kernel and a ModelNew by their markers", () => {
    const triton = "import triton\n@triton.jit\ndef k(x_ptr):\n    pass\n";
    expect(extractCode(`\`\`\`python\nimport torch\n\`\`\`\n\`\`\`python\n${triton}\`\`\``, "triton")).toMatchObject({ ok: true, source: triton });
    const module = "class ModelNew(torch.nn.Module):\n    pass\n";
    expect(extractCode(`\`\`\`python\n${module}\`\`\``, "python")).toMatchObject({ ok: true, source: module });
  });
});
