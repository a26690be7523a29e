import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { OpenAIEmbedder } from "../../retrieval/openai-embedder.js";

// A local server speaking the OpenAI embeddings protocol: vector = [text length, 1, 0].
let server: Server;
let baseURL: string;
const requests: { model: string; input: string[] }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (part) => (body += part));
    request.on("end", () => {
      const parsed = JSON.parse(body) as { model: string; input: string[] | string };
      const input = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
      requests.push({ model: parsed.model, input });
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({
        object: "list",
        model: parsed.model,
        data: input.map((text, index) => ({ object: "embedding", index, embedding: [text.length, 1, 0] })),
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("OpenAIEmbedder", () => {
  it("embeds through an OpenAI-compatible endpoint and checks the dimensions", async () => {
    const embedder = new OpenAIEmbedder({ model: "local-embed", dimensions: 3, baseURL, apiKey: "test" });
    expect(embedder.id).toBe("openai-local-embed-3");
    expect(await embedder.embedDocuments(["abc", "hello"])).toEqual([[3, 1, 0], [5, 1, 0]]);
    expect(await embedder.embedQuery("four")).toEqual([4, 1, 0]);
    expect(requests[0]).toEqual({ model: "local-embed", input: ["abc", "hello"] });
    const wrong = new OpenAIEmbedder({ model: "local-embed", dimensions: 8, baseURL, apiKey: "test" });
    await expect(wrong.embedQuery("x")).rejects.toThrow(/returned 3 dimensions, configured 8/);
    expect(() => new OpenAIEmbedder({ model: "", dimensions: 3 })).toThrow(/model/);
  });
});
