/**
 * Tokenisation shared by the lexical (BM25) ranker and the hashing embedder. Kernel knowledge is full
 * of identifiers whose exact spelling matters (`tl.dot`, `__shfl_down_sync`, `#pragma omp`,
 * `_mm256_fmadd_ps`), so each identifier is kept whole *and* split into its parts: the whole token
 * rewards an exact match, the parts let prose ("shuffle down") meet code.
 */

const STOPWORDS = new Set(
  (
    "a an and are as at be been but by can do does for from has have how if in into is it its of on or so " +
    "such than that the their then there these this to was were what when where which while who why will " +
    "with without you your we our not no use used using one two also may more most should would could " +
    "each per via about over under all any"
  ).split(" "),
);

// Identifier-ish runs: optional leading '#' (preprocessor), dotted names (tl.dot), C identifiers with
// underscores, and numbers with units or dots (3.35, 4096, sm_90a).
const TOKEN_PATTERN = /#?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\d+(?:\.\d+)?[A-Za-z]*/g;

/** Light suffix stripping so "tiles", "tiling" and "tiled" meet; identifiers are left alone. */
export function stem(word: string): string {
  if (word.length <= 4 || /[_\d.#]/.test(word)) return word;
  if (word.endsWith("ies") && word.length > 5) return `${word.slice(0, -3)}y`;
  if (word.endsWith("ing") && word.length > 6) return word.slice(0, -3);
  if (word.endsWith("ed") && word.length > 5) return word.slice(0, -2);
  if (word.endsWith("es") && /(ch|sh|x|ss)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us")) return word.slice(0, -1);
  return word;
}

function splitIdentifier(raw: string): string[] {
  // camelCase and snake_case parts; dots separate namespaces (tl.dot -> tl, dot).
  return raw
    .replace(/^#/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[._\s]+/)
    .map((part) => part.toLowerCase())
    .filter((part) => part.length > 1);
}

/**
 * Splits text into normalised terms: lower-cased, stop words dropped, stemmed words, plus whole
 * identifiers (e.g. "tl.dot", "__shfl_down_sync", "#pragma") next to their parts.
 */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  for (const match of text.matchAll(TOKEN_PATTERN)) {
    const raw = match[0];
    const lower = raw.toLowerCase();
    const isIdentifier = /^[A-Za-z_#]/.test(raw) && (/[._#]/.test(raw.slice(0, -1)) || /[a-z][A-Z]/.test(raw));
    if (isIdentifier) {
      terms.push(lower.replace(/\.+$/, ""));
      for (const part of splitIdentifier(raw)) if (!STOPWORDS.has(part)) terms.push(stem(part));
      continue;
    }
    if (lower.length < 2 || STOPWORDS.has(lower)) continue;
    terms.push(stem(lower));
  }
  return terms;
}

/** Counts each term; used for term frequencies. */
export function countTerms(terms: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}
