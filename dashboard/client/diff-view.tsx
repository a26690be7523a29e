import { structuredPatch } from "diff";

/** A unified diff (jsdiff's structuredPatch, 3 lines of context) as coloured lines with line numbers. */
export function DiffView({ before, after, beforeName, afterName }: { before: string; after: string; beforeName: string; afterName: string }) {
  const patch = structuredPatch(beforeName, afterName, before, after, "", "", { context: 3 });
  let added = 0;
  let removed = 0;
  for (const hunk of patch.hunks) for (const line of hunk.lines) line[0] === "+" ? added++ : line[0] === "-" ? removed++ : 0;
  if (!patch.hunks.length) return <p class="muted" data-testid="diff-empty">No change: the sources are identical.</p>;
  return (
    <div class="diff" data-testid="diff" data-added={added} data-removed={removed}>
      <div class="diff-head">
        <span class="del">− {beforeName}</span> <span class="add">+ {afterName}</span>
        <span class="muted">
          {" "}
          {added} added, {removed} removed
        </span>
      </div>
      {patch.hunks.map((hunk) => {
        let oldLine = hunk.oldStart;
        let newLine = hunk.newStart;
        return (
          <div class="hunk" key={`${hunk.oldStart}-${hunk.newStart}`}>
            <div class="hunk-head">
              @@ −{hunk.oldStart},{hunk.oldLines} +{hunk.newStart},{hunk.newLines} @@
            </div>
            {hunk.lines.map((line, index) => {
              const kind = line[0] === "+" ? "add" : line[0] === "-" ? "del" : line[0] === "\\" ? "meta" : "ctx";
              const left = kind === "add" || kind === "meta" ? "" : oldLine++;
              const right = kind === "del" || kind === "meta" ? "" : newLine++;
              return (
                <div class={`line ${kind}`} key={index}>
                  <span class="no">{left}</span>
                  <span class="no">{right}</span>
                  <span class="code">{line}</span>
                </div>
              );
            })}
          </div>
        );
      })}
    </div>
  );
}
