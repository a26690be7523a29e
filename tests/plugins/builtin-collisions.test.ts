import { afterAll, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOpenAIChatModel } from "../../agents/models.js";
import { openKernelChat } from "../../app/chat-session.js";
import { compose } from "../../app/composition.js";
import { repositoryRoot } from "../helpers/paths.js";
import { startFakeOpenAIServer } from "../helpers/fake-openai-server.js";

const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-collisions-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test("a plugin tool named like a built-in tool is refused, naming both origins (as `kernelevolve --plugin` meets it)", () => {
  const plugin = join(repositoryRoot, "tests", "plugins", "fixtures", "shadows-search-docs.ts");
  const result = spawnSync(process.execPath, [join(repositoryRoot, "bin", "kernelevolve.js"), "--plugin", plugin, "chat"], {
    cwd: scratch,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KERNELEVOLVE_RUNS: join(scratch, "runs"), KERNELEVOLVE_CACHE: join(scratch, "cache") },
    encoding: "utf8",
    input: "/quit\n",
    timeout: 120_000,
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(`kernelevolve chat: duplicate tool name 'search_docs' from plugin 'shadow-docs' (${plugin}): already registered by built-in (a built-in tool; rename the plugin's tool)`);
}, 150_000);

test("start_optimization offers exactly the policy ids of the registry, and a wrong one comes back as an error listing them", async () => {
  const server = await startFakeOpenAIServer([
    { text: "", toolCalls: [{ id: "call_policy", name: "start_optimization", arguments: '{"spec": "rmsnorm", "policy": "ucb-tree"}' }] },
    { text: "I will use ucb." },
  ]);
  const composition = await compose({
    root: repositoryRoot,
    cwd: scratch,
    python: "python3",
    pythonPath: join(repositoryRoot, "python"),
    runsDirectory: join(scratch, "runs"),
    cacheDirectory: join(scratch, "cache"),
  });
  const chat = await openKernelChat({ composition, model: createOpenAIChatModel({ name: "fake-coder", baseUrl: server.baseUrl }), threadId: "policies" });
  try {
    await chat.send("optimise rmsnorm with ucb-tree");
    const offered = server.requests[0].tools!.find((tool) => tool.function.name === "start_optimization")!.function.parameters as { properties: { policy: { enum: string[] } } };
    expect(offered.properties.policy.enum).toEqual(composition.policies.ids());
    expect(offered.properties.policy.enum).toContain("ucb");
    expect(offered.properties.policy.enum).not.toContain("ucb-tree");
    const answer = server.requests[1].messages.find((message) => message.role === "tool" && message.tool_call_id === "call_policy");
    expect(String(answer?.content)).toMatch(/^Error: the arguments of start_optimization do not match its schema: [\s\S]*'greedy' \| 'map-elites' \| 'tournament' \| 'ucb', received 'ucb-tree'/);
  } finally {
    await chat.close();
    await composition.close();
    await server.close();
  }
}, 120_000);
