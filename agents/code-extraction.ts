import type { Language } from "../core/protocol.js";

/** What was found in a model's reply. */
export type Extraction =
  | { ok: true; source: string; method: "fenced" | "search-replace" | "truncated-fence" | "bare"; notes: string[] }
  | { ok: false; reason: string };

interface Block {
  language: string;
  body: string;
  closed: boolean;
}

const LANGUAGE_TAGS: Record<Language, string[]> = {
  cpp: ["cpp", "c++", "cc", "cxx", "c", "h", "hpp"],
  cuda: ["cuda", "cu", "cpp", "c++", "c"],
  triton: ["python", "py", "triton"],
  python: ["python", "py"],
};

/** Markers that tell a kernel apart from an example or a test snippet. */
const ENTRY_MARKERS: Record<Language, RegExp> = {
  cpp: /extern\s+"C"[\s\S]*\bkernel\s*\(/,
  cuda: /extern\s+"C"[\s\S]*\bkernel\s*\(|__global__/,
  triton: /@triton\.jit/,
  python: /class\s+ModelNew\b/,
};

function fencedBlocks(reply: string): Block[] {
  const blocks: Block[] = [];
  const lines = reply.split("\n");
  let current: Block | null = null;
  for (const line of lines) {
    const fence = /^\s*(```+|~~~+)\s*([\w+#.-]*)\s*$/.exec(line);
    if (fence && !current) {
      current = { language: fence[2].toLowerCase(), body: "", closed: false };
    } else if (fence && current && fence[2] === "") {
      current.closed = true;
      blocks.push(current);
      current = null;
    } else if (current) {
      current.body += `${line}\n`;
    }
  }
  if (current) blocks.push(current);
  return blocks;
}

const SEARCH_REPLACE = /<{5,}\s*SEARCH\s*\n([\s\S]*?)\n={5,}\s*\n([\s\S]*?)\n?>{5,}\s*REPLACE/g;

/** Applies SEARCH/REPLACE edits to the parent; each SEARCH text must occur exactly once. */
export function applySearchReplace(parent: string, reply: string): { ok: true; source: string; applied: number } | { ok: false; reason: string } {
  let source = parent;
  let applied = 0;
  for (const match of reply.matchAll(SEARCH_REPLACE)) {
    const [, search, replace] = match;
    let index = source.indexOf(search);
    let needle = search;
    if (index < 0) {
      // Models often drop trailing whitespace: retry with it normalised per line.
      const normalise = (text: string) => text.split("\n").map((line) => line.trimEnd()).join("\n");
      const normalisedSource = normalise(source);
      needle = normalise(search);
      index = normalisedSource.indexOf(needle);
      if (index < 0) return { ok: false, reason: `SEARCH block not found in the parent: ${JSON.stringify(search.split("\n")[0].slice(0, 80))}` };
      source = normalisedSource;
    }
    if (source.indexOf(needle, index + needle.length) >= 0) {
      return { ok: false, reason: `SEARCH block matches more than once: ${JSON.stringify(needle.split("\n")[0].slice(0, 80))}` };
    }
    source = source.slice(0, index) + replace + source.slice(index + needle.length);
    applied++;
  }
  return applied > 0 ? { ok: true, source, applied } : { ok: false, reason: "no SEARCH/REPLACE edits found" };
}

function balanced(source: string): boolean {
  let depth = 0;
  for (const character of source.replace(/\/\/.*$/gm, "").replace(/"(?:\\.|[^"\\])*"/g, "")) {
    if (character === "{") depth++;
    else if (character === "}") depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

function looksComplete(source: string, language: Language): boolean {
  if (!ENTRY_MARKERS[language].test(source)) return false;
  if (language === "cpp" || language === "cuda") return balanced(source);
  return true;
}

/**
 * Extracts the candidate's source from a model reply: a fenced block (choosing the one that holds
 * the kernel entry when there are several), SEARCH/REPLACE edits against the parent, or a reply cut
 * off inside its code block (accepted only if the code is complete). No usable code -> a reason.
 */
export function extractCode(reply: string, language: Language, parentSource?: string): Extraction {
  if (!reply || !reply.trim()) return { ok: false, reason: "empty reply" };
  if (parentSource && SEARCH_REPLACE.test(reply)) {
    SEARCH_REPLACE.lastIndex = 0;
    const edited = applySearchReplace(parentSource, reply);
    if (!edited.ok) return { ok: false, reason: edited.reason };
    return { ok: true, source: edited.source, method: "search-replace", notes: [`applied ${edited.applied} edit(s) to the parent`] };
  }
  SEARCH_REPLACE.lastIndex = 0;
  const blocks = fencedBlocks(reply);
  const tags = LANGUAGE_TAGS[language];
  const marker = ENTRY_MARKERS[language];
  const closed = blocks.filter((block) => block.closed && block.body.trim());
  const ranked = closed
    .map((block, index) => ({
      block,
      score: (marker.test(block.body) ? 4 : 0) + (tags.includes(block.language) ? 2 : block.language === "" ? 1 : 0) + index * 0.01,
    }))
    .sort((a, b) => b.score - a.score);
  const notes: string[] = [];
  if (closed.length > 1) notes.push(`${closed.length} code blocks in the reply; took the one holding the kernel entry`);
  if (ranked.length && ranked[0].score >= 4) {
    return { ok: true, source: ranked[0].block.body, method: "fenced", notes };
  }
  const open = blocks.find((block) => !block.closed);
  if (open) {
    if (looksComplete(open.body, language)) {
      return { ok: true, source: open.body, method: "truncated-fence", notes: ["the reply ended inside its code block, but the code is complete"] };
    }
    return { ok: false, reason: "the reply was cut off inside its code block (truncated): the kernel is incomplete" };
  }
  if (ranked.length) {
    return { ok: false, reason: `no code block holds the kernel entry (${language === "python" ? "class ModelNew" : language === "triton" ? "@triton.jit" : 'extern "C" ... kernel('})` };
  }
  if (looksComplete(reply, language)) return { ok: true, source: reply, method: "bare", notes: ["no fence; the whole reply is code"] };
  return { ok: false, reason: "no code found in the reply" };
}
