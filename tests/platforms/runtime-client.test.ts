import { PlatformError } from "../../core/errors.js";
import type { RuntimeClient, RuntimeEvent } from "../../platforms/runtime-client.js";
import { fakeClient, isAlive, vectorAddSpec } from "./helpers.js";

const spec = vectorAddSpec();
const candidate = (source: string) => ({ language: "cpp" as const, source });

describe("RuntimeClient (against the fake runtime)", () => {
  const clients: RuntimeClient[] = [];
  const track = (client: RuntimeClient) => {
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  test("starts lazily, says hello once and caches hardware profiles", async () => {
    const client = track(fakeClient());
    expect(client.processId).toBeUndefined();
    const hello = await client.hello();
    expect(hello.runtimeVersion).toBe("fake-0");
    expect(hello.platforms.map((platform) => platform.id)).toEqual(["cpu", "offline"]);
    const first = await client.hardwareProfile("cpu");
    const second = await client.hardwareProfile("cpu");
    expect(first).toBe(second);
    expect(first).toMatchObject({ platform: "cpu", device: "fake cpu", cores: 2 });
    expect(client.starts).toBe(1);
  });

  test("matches concurrent answers to their requests by id, and forwards events", async () => {
    const events: RuntimeEvent[] = [];
    const client = track(fakeClient({ onEvent: (event) => events.push(event) }));
    const perRequest: RuntimeEvent[] = [];
    // The slow one is sent first and answered last: a client matching by order would mix them up.
    const [slow, wrong, compile] = await Promise.all([
      client.evaluate(spec, "cpu", candidate("// FAKE_SLEEP=300 correct"), {}, { onEvent: (event) => perRequest.push(event) }),
      client.evaluate(spec, "cpu", candidate("// WRONG")),
      client.evaluate(spec, "cpu", candidate("// COMPILE_ERROR")),
    ]);
    expect([slow.status, wrong.reason, compile.reason]).toEqual(["passed", "wrong_output", "compile_error"]);
    expect(compile.log).toContain("error: expected ';'");
    expect(events.filter((event) => event.event === "stage")).toHaveLength(3);
    expect(perRequest).toHaveLength(1);
    expect(perRequest[0]).toMatchObject({ event: "stage", data: { stage: "compile" } });
  });

  test("never hands API keys or other secrets to the runtime", async () => {
    const client = track(fakeClient({ environment: { PATH: process.env.PATH, OPENAI_API_KEY: "sk-secret", HOME: "/tmp", KERNELEVOLVE_API_KEY: "x" } }));
    const result = await client.evaluate(spec, "cpu", candidate("// FAKE_ENV"));
    const names = JSON.parse(result.message) as string[];
    expect(names).toEqual(expect.arrayContaining(["PATH", "HOME", "PYTHONPATH"]));
    expect(names).not.toContain("OPENAI_API_KEY");
    expect(names).not.toContain("KERNELEVOLVE_API_KEY");
  });

  test("sends the compile cache folder with each evaluation, overridable per request", async () => {
    const client = track(fakeClient({ compileCacheDirectory: "/tmp/shared-cache" }));
    expect((await client.evaluate(spec, "cpu", candidate("// FAKE_CACHE"))).message).toBe("cacheDir=/tmp/shared-cache");
    const cold = await client.evaluate(spec, "cpu", candidate("// FAKE_CACHE"), {}, { compileCacheDirectory: "/tmp/cold" });
    expect(cold.message).toBe("cacheDir=/tmp/cold");
  });

  test("rejects an answer that breaks the protocol with a PlatformError naming the bad field", async () => {
    const client = track(fakeClient());
    const error = await client.evaluate(spec, "cpu", candidate("// FAKE_BAD_RESULT")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).code).toBe("invalid_response");
    expect((error as Error).message).toMatch(/status/);
    // The runtime itself is fine: the next request works on the same process.
    const pid = client.processId;
    expect((await client.evaluate(spec, "cpu", candidate("// ok"))).status).toBe("passed");
    expect(client.processId).toBe(pid);
  });

  test("turns an ok:false answer into a PlatformError with the runtime's code", async () => {
    const client = track(fakeClient());
    await expect(client.evaluate(spec, "cpu", candidate("// FAKE_ERROR"))).rejects.toMatchObject({ code: "internal", message: expect.stringContaining("fake infrastructure failure") });
  });

  test("tolerates stray stdout lines and still answers", async () => {
    const events: RuntimeEvent[] = [];
    const client = track(fakeClient({ onEvent: (event) => events.push(event) }));
    const result = await client.evaluate(spec, "cpu", candidate("// FAKE_NOISE"));
    expect(result.status).toBe("passed");
    expect(events).toContainEqual({ event: "runtime-output", data: { line: "a stray print that is not JSON" } });
  });

  test("rejects every pending request when the runtime dies, then restarts it on the next request", async () => {
    const client = track(fakeClient());
    await client.hello();
    const firstPid = client.processId!;
    const slow = client.evaluate(spec, "cpu", candidate("// FAKE_SLEEP=5000"));
    const dying = client.evaluate(spec, "cpu", candidate("// FAKE_EXIT"));
    for (const pending of [slow, dying]) {
      const error = await pending.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PlatformError);
      expect((error as PlatformError).code).toBe("runtime_died");
      expect((error as Error).message).toContain("exited with code 3");
      expect((error as Error).message).toContain("exiting on purpose");
    }
    const after = await client.evaluate(spec, "cpu", candidate("// ok"));
    expect(after.status).toBe("passed");
    expect(client.starts).toBe(2);
    expect(client.processId).not.toBe(firstPid);
    expect(isAlive(firstPid)).toBe(false);
  });

  test("rejects an aborted request at once without waiting for the runtime", async () => {
    const client = track(fakeClient());
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.evaluate(spec, "cpu", candidate("// FAKE_SLEEP=3000"), {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
    expect(Date.now() - started).toBeLessThan(2000);
    const before = new AbortController();
    before.abort();
    await expect(client.evaluate(spec, "cpu", candidate("// ok"), {}, { signal: before.signal })).rejects.toMatchObject({ code: "aborted" });
  });

  test("declares a stuck runtime dead after the watchdog and restarts it", async () => {
    const client = track(fakeClient());
    await client.hello();
    const stuckPid = client.processId!;
    await expect(client.request("evaluate", { spec, platform: "cpu", candidate: candidate("// FAKE_HANG"), options: {} }, (await import("zod")).z.unknown(), { timeoutMs: 300 }))
      .rejects.toMatchObject({ code: "runtime_timeout" });
    expect((await client.evaluate(spec, "cpu", candidate("// ok"))).status).toBe("passed");
    expect(client.processId).not.toBe(stuckPid);
  });

  test("reports a runtime that cannot start with its stderr tail", async () => {
    const client = track(fakeClient({ serveArguments: ["--fail-start"] }));
    const error = await client.hello().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "runtime_start_failed" });
    expect((error as Error).message).toContain("cannot import torch");
  });

  test("refuses a runtime that speaks another protocol version", async () => {
    const client = track(fakeClient({ serveArguments: ["--protocol", "99"] }));
    await expect(client.hello()).rejects.toMatchObject({ message: expect.stringContaining("speaks protocol 99") });
  });

  test("says clearly when the Python executable does not exist", async () => {
    const client = track(fakeClient({ python: "/nonexistent/python3" }));
    await expect(client.hello()).rejects.toMatchObject({ code: "python_unavailable", message: expect.stringContaining("/nonexistent/python3") });
  });

  test("close() ends the process group, rejects what was pending and refuses new requests", async () => {
    const client = fakeClient({ shutdownGraceMs: 300 });
    await client.hello();
    const pid = client.processId!;
    const pending = client.evaluate(spec, "cpu", candidate("// FAKE_HANG")).catch((caught: unknown) => caught);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.close();
    expect(await pending).toMatchObject({ code: "runtime_closed" });
    expect(isAlive(pid)).toBe(false);
    await expect(client.hello()).rejects.toMatchObject({ code: "runtime_closed" });
  });
});
