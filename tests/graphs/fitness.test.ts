import { describe, expect, it } from "@jest/globals";
import type { EvaluationResult } from "../../core/protocol.js";
import { fitnessOf } from "../../graphs/evolve/fitness.js";

const result = (overrides: Partial<EvaluationResult>): EvaluationResult => ({
  status: "passed",
  stage: "done",
  message: "",
  log: "",
  platform: "cpu",
  staticFindings: [],
  trials: [],
  timings: [],
  flags: [],
  durations: {},
  ...overrides,
});

describe("fitnessOf", () => {
  it("is the speed-up of a correct, timed kernel and 0 for a failed one", () => {
    expect(fitnessOf(result({ speedup: 2.5 }), true)).toBe(2.5);
    expect(fitnessOf(result({ status: "failed", reason: "wrong_output", speedup: 9 }), true)).toBe(0);
    expect(fitnessOf(result({}), true)).toBe(0);
  });

  it("gives a correct kernel 1 where timing is not meaningful: an untimed platform or skipped timing", () => {
    expect(fitnessOf(result({}), false)).toBe(1);
    expect(fitnessOf(result({ flags: ["timing-skipped"] }), true)).toBe(1);
    expect(fitnessOf(result({ status: "failed", flags: ["timing-skipped"] }), true)).toBe(0);
  });
});
