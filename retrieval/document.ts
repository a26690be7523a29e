import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UserError } from "../core/errors.js";

const oneOrMany = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]));

/** YAML front-matter every knowledge document starts with. */
export const DocumentMetadataSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, "a kebab-case id such as 'cuda-warp-shuffles'")
      .describe("Unique kebab-case id of the document; chunk ids start with it"),
    title: z.string().min(1).describe("Human-readable title, shown in prompts"),
    platform: oneOrMany.describe("Platform id(s) it applies to (cpu, cuda, triton) or 'any'"),
    language: oneOrMany.describe("Language(s) it applies to (cpp, cuda, triton, python) or 'any'"),
    topic: z.string().min(1).describe("Broad topic: memory, parallelism, hardware, errors, operators, abi, ..."),
    tags: z.array(z.string()).default([]).describe("Free keywords that help retrieval"),
  })
  .strict();
export type DocumentMetadata = z.infer<typeof DocumentMetadataSchema>;

/** A knowledge document: metadata plus its markdown body. */
export interface KnowledgeDocument {
  metadata: DocumentMetadata;
  /** Markdown body without the front-matter. */
  body: string;
  /** Where it was read from, for error messages. */
  origin: string;
}

/** Parses one markdown file with YAML front-matter; throws a UserError naming the bad field. */
export function parseDocument(text: string, origin: string): KnowledgeDocument {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!match) throw new UserError("document_front_matter", `${origin}: missing YAML front-matter (a '---' block at the top)`);
  let raw: unknown;
  try {
    raw = parseYaml(match[1]);
  } catch (error) {
    throw new UserError("document_front_matter", `${origin}: front-matter is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = DocumentMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
    throw new UserError("document_front_matter", `${origin}: bad front-matter: ${problems}`);
  }
  return { metadata: parsed.data, body: text.slice(match[0].length), origin };
}

/** Whether a document's platform/language lists admit the requested filter values. */
export function matchesFilter(
  metadata: { platform: string[]; language: string[] },
  filter: { platform?: string; language?: string },
): boolean {
  const admits = (values: string[], wanted?: string) => !wanted || values.includes("any") || values.includes(wanted);
  return admits(metadata.platform, filter.platform) && admits(metadata.language, filter.language);
}
