/** Counts of changed lines and the most telling added/removed lines between two sources. */
export interface DiffSummary {
  added: number;
  removed: number;
  addedLines: string[];
  removedLines: string[];
}

function significantLines(source: string): string[] {
  return source
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/\s+/g, " "))
    .filter((line) => line.length > 0 && !/^[{}();]+$/.test(line));
}

/**
 * Compares two sources as multisets of trimmed lines: a move is not a change, and the result reads
 * as "what the child introduced" (pragmas, intrinsics, new parameters) rather than a patch.
 */
export function summarizeDiff(parentSource: string, childSource: string, maxLines = 6): DiffSummary {
  const parentCounts = new Map<string, number>();
  for (const line of significantLines(parentSource)) parentCounts.set(line, (parentCounts.get(line) ?? 0) + 1);
  const addedLines: string[] = [];
  for (const line of significantLines(childSource)) {
    const count = parentCounts.get(line) ?? 0;
    if (count > 0) parentCounts.set(line, count - 1);
    else addedLines.push(line);
  }
  const removedLines = [...parentCounts.entries()].flatMap(([line, count]) => Array<string>(count).fill(line));
  return {
    added: addedLines.length,
    removed: removedLines.length,
    addedLines: addedLines.slice(0, maxLines).map((line) => line.slice(0, 160)),
    removedLines: removedLines.slice(0, maxLines).map((line) => line.slice(0, 160)),
  };
}

/** One readable paragraph of a diff summary for prompts. */
export function describeDiff(summary: DiffSummary): string {
  if (summary.added === 0 && summary.removed === 0) return "No line changed (parameters only).";
  const parts = [`+${summary.added} / -${summary.removed} lines.`];
  if (summary.addedLines.length) parts.push(`Added: ${summary.addedLines.map((line) => `\`${line}\``).join("; ")}.`);
  if (summary.removedLines.length) parts.push(`Removed: ${summary.removedLines.map((line) => `\`${line}\``).join("; ")}.`);
  return parts.join(" ");
}
