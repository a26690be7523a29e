/** Escapes text for XML and HTML. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Status colours shared by the lineage tree and the legend. */
export const STATUS_COLOURS: Record<string, string> = { passed: "#2e7d32", failed: "#c62828", pending: "#9e9e9e" };
export const HIGHLIGHT = "#f9a825";
