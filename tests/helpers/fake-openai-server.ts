import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One scripted answer of the fake server: a reply text, an HTTP error, or a hang (for timeouts). */
export type ScriptedAnswer = { text: string } | { status: number; body?: string } | { hangMs: number };

/**
 * A local HTTP server speaking the OpenAI chat-completions protocol, answering from a script.
 * It records every request body so tests can read the prompts the client sent.
 */
export async function startFakeOpenAIServer(script: ScriptedAnswer[]) {
  const requests: { messages: { role: string; content: string }[]; model: string }[] = [];
  const answers = [...script];
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      if (!request.url?.endsWith("/chat/completions")) {
        response.writeHead(404).end();
        return;
      }
      const parsed = JSON.parse(body);
      requests.push(parsed);
      const answer = answers.shift() ?? { status: 500, body: "script exhausted" };
      if ("hangMs" in answer) {
        setTimeout(() => { if (!response.writableEnded) response.writeHead(500).end(); }, answer.hangMs).unref();
        return;
      }
      if ("status" in answer) {
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: answer.body ?? `error ${answer.status}`, type: "server_error" } }));
        return;
      }
      const promptTokens = Math.ceil(JSON.stringify(parsed.messages).length / 4);
      const completionTokens = Math.ceil(answer.text.length / 4);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: parsed.model,
          choices: [{ index: 0, message: { role: "assistant", content: answer.text }, finish_reason: "stop" }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        }),
      );
    });
  });
  server.on("connection", (socket) => { sockets.add(socket); socket.on("close", () => sockets.delete(socket)); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    remaining: () => answers.length,
    close: () => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); server.close(() => resolve()); }),
  };
}
