import { describe, expect, it } from "@jest/globals";
import { Writable } from "node:stream";
import { ProgressRenderer, formatDuration, formatStatusLine, rateAndEta } from "../../cli/progress.js";
import type { OptimizeEvent, RunProgress } from "../../graphs/evolve/events.js";

const progress = (overrides: Partial<RunProgress> = {}): RunProgress => ({
  generation: 3, candidates: 14, evaluated: 12, passed: 10, failed: 2, pending: 2, bestCandidateId: "c0009", bestFitness: 1.8734,
  tokens: 0, costUsd: 0, activeMs: 60_000, budget: { candidates: 40 }, ...overrides,
});

function sink(isTTY: boolean) {
  let text = "";
  const stream = Object.assign(new Writable({ write(chunk, _encoding, callback) { text += chunk.toString(); callback(); } }), { isTTY, columns: 200 });
  return { stream, text: () => text };
}

const base = { runId: "r1", time: 0 };
const events: OptimizeEvent[] = [
  { ...base, type: "run-start", specId: "gelu", platform: "cpu", operator: "autotune", policy: "greedy", folder: "/runs/r1", resumed: false, progress: progress({ evaluated: 0, generation: 0 }) },
  { ...base, type: "candidate-end", candidateId: "c0001", generation: 0, status: "passed", fitness: 1.1, message: "ok", seconds: 1, progress: progress({ evaluated: 6 }) },
  { ...base, type: "best-improved", candidateId: "c0009", generation: 2, fitness: 1.8734, previousFitness: 1.2, strategy: "BLOCK 32->64", progress: progress() },
  { ...base, type: "generation-end", generation: 3, proposed: 4, progress: progress() },
  { ...base, type: "run-end", reason: "budget", bestCandidateId: "c0009", bestFitness: 1.8734, status: "completed", progress: progress({ evaluated: 40 }) },
];

describe("optimize progress display", () => {
  it("computes evaluations per minute and the ETA from the tighter limit", () => {
    const session = { startedAt: 0, evaluatedAtStart: 0, now: 120_000 };
    expect(rateAndEta(progress(), session)).toEqual({ perMinute: 6, etaMs: (28 / 6) * 60_000 });
    expect(rateAndEta(progress({ budget: { candidates: 40, timeMs: 90_000 } }), session).etaMs).toBe(30_000);
    expect(rateAndEta(progress({ evaluated: 12 }), { ...session, evaluatedAtStart: 12 })).toEqual({ perMinute: undefined, etaMs: undefined });
    expect(formatDuration(65_000)).toBe("1m05s");
    expect(formatDuration(3_725_000)).toBe("1h02m");
  });

  it("formats the status line with generation, counts, best, rate, tokens and ETA", () => {
    expect(formatStatusLine(progress({ tokens: 1200, costUsd: 0.0123 }), { perMinute: 6, etaMs: 280_000 })).toBe(
      "gen 3 | 12/40 evaluated (2 failed, 2 running) | best 1.87x | 6.0 eval/min | 1200 tokens $0.012 | ETA 4m40s",
    );
    expect(formatStatusLine(progress({ bestFitness: 0, pending: 0 }), {})).toBe("gen 3 | 12/40 evaluated (2 failed) | best - | - eval/min | ETA -");
  });

  it("rewrites one line on a terminal, keeping best improvements in the scrollback", () => {
    const out = sink(true);
    const renderer = new ProgressRenderer(out.stream, "tty", () => 60_000);
    events.forEach((event) => renderer.handle(event));
    const text = out.text();
    expect(text.split("\r\x1b[K").length).toBeGreaterThan(4);
    expect(text).toContain("\r\x1b[Kbest 1.87x  c0009 (generation 2)  BLOCK 32->64\n");
    expect(text.endsWith("run completed: budget; best 1.87x (c0009); 40 evaluated, 2 failed in 1m00s\n")).toBe(true);
  });

  it("prints plain lines without control characters when not on a terminal", () => {
    const out = sink(false);
    const renderer = new ProgressRenderer(out.stream, "plain", () => 60_000);
    events.forEach((event) => renderer.handle(event));
    const lines = out.text().trimEnd().split("\n");
    expect(out.text()).not.toMatch(/\r|\x1b/);
    expect(lines).toEqual([
      "run r1: gelu on cpu, operator autotune, policy greedy",
      "  folder /runs/r1",
      "best 1.87x  c0009 (generation 2)  BLOCK 32->64",
      "gen 3 | 12/40 evaluated (2 failed, 2 running) | best 1.87x | - eval/min | ETA -",
      "run completed: budget; best 1.87x (c0009); 40 evaluated, 2 failed in 1m00s",
    ]);
  });

  it("--json writes each event as one JSON line", () => {
    const out = sink(false);
    const renderer = new ProgressRenderer(out.stream, "json");
    events.forEach((event) => renderer.handle(event));
    expect(out.text().trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(events);
  });
});
