import { chunkDocument, markdownBlocks } from "../../retrieval/chunking.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { parseDocument } from "../../retrieval/document.js";
import { UserError } from "../../core/errors.js";
import { SEED_DOCS, makeDocument } from "./helpers.js";

function fenceCount(text: string): number {
  return text.split("\n").filter((line) => /^\s*```/.test(line)).length;
}

describe("chunking", () => {
  it("never splits a fenced code block, even one longer than the chunk limit or holding # lines", () => {
    const longCode = Array.from({ length: 80 }, (_, index) => `    x${index} = tl.load(ptr + ${index})  # step ${index}`).join("\n");
    const body = `# Title\n\n## Intro\n${"Prose sentence about tiling. ".repeat(30)}\n\n## Code\nBefore.\n\n\`\`\`python\n# not a heading\n## also not a heading\n${longCode}\n\`\`\`\n\nAfter the code.\n\n${"More prose. ".repeat(60)}\n`;
    const chunks = chunkDocument(makeDocument("fences", body), { maxChars: 600, minChars: 50 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(fenceCount(chunk.text) % 2).toBe(0);
    const withCode = chunks.filter((chunk) => chunk.text.includes("x79 = tl.load"));
    expect(withCode).toHaveLength(1);
    expect(withCode[0].text).toContain("x0 = tl.load");
    expect(withCode[0].text).toContain("# not a heading");
    expect(chunks.some((chunk) => chunk.id === "fences#not-a-heading")).toBe(false);
  });

  it("follows sections and gives stable ids", () => {
    const chunks = chunkDocument(makeDocument("sections", `## First part\n${"a ".repeat(200)}\n\n## Second part\n${"b ".repeat(200)}\n`));
    expect(chunks.map((chunk) => chunk.id)).toEqual(["sections#first-part", "sections#second-part"]);
    expect(chunks[1].title).toBe("sections title > Second part");
  });

  it("keeps every fence balanced in every chunk of the seed knowledge base", () => {
    const documents = loadDocuments([SEED_DOCS]);
    expect(documents.length).toBeGreaterThanOrEqual(20);
    for (const document of documents) {
      expect(fenceCount(document.body) % 2).toBe(0);
      for (const chunk of chunkDocument(document)) expect(fenceCount(chunk.text) % 2).toBe(0);
    }
  });

  it("treats an unterminated fence as one block", () => {
    const blocks = markdownBlocks("text\n\n```c\nint x;\n\nint y;\n");
    expect(blocks.map((block) => block.text)).toEqual(["text", "```c\nint x;\n\nint y;"]);
  });

  it("names the bad front-matter field", () => {
    expect(() => parseDocument("---\nid: Bad Id\ntitle: t\nplatform: cpu\nlanguage: cpp\ntopic: x\n---\nbody", "bad.md")).toThrow(UserError);
    expect(() => parseDocument("---\nid: ok\nplatform: cpu\nlanguage: cpp\ntopic: x\n---\nbody", "bad.md")).toThrow(/title/);
    expect(() => parseDocument("no front matter", "bad.md")).toThrow(/front-matter/);
  });
});
