import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LANGUAGES } from "../../core/languages.js";
import { LanguageSchema } from "../../core/protocol.js";
import { loadAbiDocuments } from "../../agents/llm-operator-factory.js";
import { kernelExtension } from "../../graphs/runs/run-paths.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("the per-language table", () => {
  test("has one row for every language of the protocol", () => {
    expect(Object.keys(LANGUAGES).sort()).toEqual([...LanguageSchema.options].sort());
  });

  test.each(Object.entries(LANGUAGES))("%s: its ABI document exists, has a title and ships in the package", (_language, facts) => {
    const path = join(root, "docs", facts.abiDocument);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, "utf8")).toMatch(/^# \S/);
    const files = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { files: string[] }).files;
    expect(files).toContain("docs/abi-*.md");
    expect(facts.abiDocument).toMatch(/^abi-[a-z]+\.md$/);
  });

  test("the prompts get every language's ABI document, and run folders its extension", () => {
    const documents = loadAbiDocuments(join(root, "docs"));
    for (const [language, facts] of Object.entries(LANGUAGES) as [keyof typeof LANGUAGES, (typeof LANGUAGES)[keyof typeof LANGUAGES]][]) {
      expect(documents[language]?.length ?? 0).toBeGreaterThan(200);
      expect(kernelExtension(language)).toBe(facts.extension);
    }
  });
});
