/**
 * A scripted chat session through the library API. With KERNELEVOLVE_MODEL (and
 * KERNELEVOLVE_BASE_URL) set it talks to that model; without one it runs the same conversation as
 * slash commands, which need no model. Either way it prints a transcript.
 *
 *   npx tsx examples/scripted-chat.ts
 *
 * In your own project, import from "kernelevolve" instead of "../index.js".
 */
import { ChatOpenAI } from "@langchain/openai";
import { createChatSession } from "../index.js";

const modelName = process.env.KERNELEVOLVE_MODEL;
const model = modelName
  ? new ChatOpenAI({ model: modelName, apiKey: process.env.KERNELEVOLVE_API_KEY ?? "not-needed", configuration: { baseURL: process.env.KERNELEVOLVE_BASE_URL } })
  : undefined;

const chat = await createChatSession({
  model,
  threadId: process.env.KERNELEVOLVE_THREAD ?? "scripted-chat",
  runsDirectory: process.env.KERNELEVOLVE_RUNS ?? "runs",
  python: process.env.KERNELEVOLVE_PYTHON,
  plugins: [new URL("./plugin-with-tool-and-platform/index.ts", import.meta.url).pathname],
  runs: { evaluation: { trials: 1, minTimeMs: 10 } },
  onEvent: (event) => {
    if (event.type === "tool-call") console.log(`  -> ${event.name} ${JSON.stringify(event.args)}`);
    if (event.type === "run-event" && event.event.type === "best-improved") console.log(`  [run] best ${event.event.fitness.toFixed(2)}x`);
  },
});

const script: [message: string, command: string][] = [
  ["Which specs can you optimise?", "/specs"],
  ["Explain rmsnorm.", "/explain rmsnorm"],
  ["How fast could a 1M-element sum of squares be on 20 GB/s?", '/call estimate_roofline {"flops": 2000000, "bytes": 4000000, "peak_gflops": 100, "bandwidth_gbs": 20}'],
  ["Optimise rmsnorm at its small size with 4 candidates.", "/optimize rmsnorm --budget 4 --size small"],
  ["Wait for it and tell me how it went.", "/watch latest --wait 300"],
  ["Show me the best kernel.", "/best latest"],
];

try {
  for (const [message, command] of script) {
    console.log(`\nyou> ${model ? message : command}`);
    const answer = model ? (await chat.send(message)).reply : (await chat.command(command)).output;
    console.log(answer);
  }
} finally {
  await chat.close();
}
