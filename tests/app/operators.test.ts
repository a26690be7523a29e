import { describe, expect, it } from "@jest/globals";
import { autotuneOperatorFor, builtinOperators } from "../../app/operators.js";
import { UserError } from "../../core/errors.js";
import { FAKE_SPEC, FakePlatform, fakeSeeds } from "../graphs/fake-platform.js";

// The autotune operator is built by app/ (the engine has no default operator): a spec without a
// template is refused here, with the way out, before a run starts.
describe("the built-in operators (app/operators.ts)", () => {
  const autotune = builtinOperators({ root: "." }).find((provider) => provider.id === "autotune")!;

  it("builds the autotune operator over the seeds' templates", () => {
    const operator = autotune.create({ spec: FAKE_SPEC, platform: new FakePlatform(), seeds: fakeSeeds() });
    expect(operator.id).toBe("autotune");
    expect(autotune.capabilities).toEqual({ retrieval: false, model: false });
  });

  it("refuses a spec without a template seed, naming the spec, the platform and what to do instead", () => {
    const baselineOnly = [fakeSeeds()[0]];
    expect(() => autotuneOperatorFor(baselineOnly, "fake", "cpu")).toThrow(UserError);
    expect(() => autotune.create({ spec: FAKE_SPEC, platform: new FakePlatform(), seeds: baselineOnly })).toThrow(/spec '.+' has no template seed kernel for platform 'cpu'.*--model/);
  });
});
