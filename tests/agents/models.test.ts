import { HumanMessage } from "@langchain/core/messages";
import { createModelClient, createModelEnsemble, createOpenAIChatModel, isRetryable } from "../../agents/models.js";
import { ModelError } from "../../core/errors.js";
import { startFakeOpenAIServer } from "../helpers/fake-openai-server.js";

const fastRetry = { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 };

function clientFor(baseUrl: string, timeoutMs = 5000) {
  const model = createOpenAIChatModel({ name: "test-model", baseUrl, apiKey: "sk-test", timeoutMs });
  return createModelClient(model, { id: "test-model", retry: fastRetry, inputCostPerMillion: 1, outputCostPerMillion: 2 });
}

describe("the real @langchain/openai client against a local OpenAI-protocol server", () => {
  test("a 429 is retried and the second answer is used, with tokens and cost counted", async () => {
    const server = await startFakeOpenAIServer([{ status: 429, body: "rate limited" }, { text: "hello kernel" }]);
    try {
      const reply = await clientFor(server.baseUrl).complete([new HumanMessage("write a kernel")]);
      expect(reply.text).toBe("hello kernel");
      expect(reply.attempts).toBe(2);
      expect(server.requests).toHaveLength(2);
      expect(reply.tokens.input).toBeGreaterThan(0);
      expect(reply.tokens.output).toBe(Math.ceil("hello kernel".length / 4));
      expect(reply.costUsd).toBeCloseTo((reply.tokens.input * 1 + reply.tokens.output * 2) / 1e6, 12);
      expect(server.requests[0].model).toBe("test-model");
    } finally {
      await server.close();
    }
  });

  test("a 500 that persists fails after the configured attempts with a ModelError", async () => {
    const server = await startFakeOpenAIServer([{ status: 500 }, { status: 500 }, { status: 500 }, { text: "too late" }]);
    try {
      await expect(clientFor(server.baseUrl).complete([new HumanMessage("x")])).rejects.toThrow(ModelError);
      expect(server.requests).toHaveLength(3);
      expect(server.remaining()).toBe(1);
    } finally {
      await server.close();
    }
  });

  test("a 400 is not retried", async () => {
    const server = await startFakeOpenAIServer([{ status: 400, body: "bad request" }, { text: "never" }]);
    try {
      await expect(clientFor(server.baseUrl).complete([new HumanMessage("x")])).rejects.toMatchObject({ code: "model_request_failed" });
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  test("a timeout is retried, then the answer arrives", async () => {
    const server = await startFakeOpenAIServer([{ hangMs: 3000 }, { text: "after timeout" }]);
    try {
      const reply = await clientFor(server.baseUrl, 300).complete([new HumanMessage("x")]);
      expect(reply.text).toBe("after timeout");
      expect(reply.attempts).toBe(2);
    } finally {
      await server.close();
    }
  });

  test("classifies retryable errors", () => {
    expect(isRetryable({ status: 429 })).toBe(true);
    expect(isRetryable({ status: 503 })).toBe(true);
    expect(isRetryable({ status: 401 })).toBe(false);
    expect(isRetryable(new Error("Request timed out."))).toBe(true);
    expect(isRetryable(new Error("invalid model"))).toBe(false);
  });
});

describe("model ensemble", () => {
  test("picks members in proportion to their weights", () => {
    const member = (id: string) => ({ id, complete: async () => ({ text: id, model: id, tokens: { input: 0, output: 0 }, costUsd: 0, attempts: 1 }) });
    const ensemble = createModelEnsemble([{ client: member("a"), weight: 3 }, { client: member("b"), weight: 1 }]);
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let index = 0; index < 4000; index++) counts[ensemble.pick(random).id]++;
    expect(counts.a / 4000).toBeGreaterThan(0.7);
    expect(counts.a / 4000).toBeLessThan(0.8);
  });
});
