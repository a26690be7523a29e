import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A tool call in a scripted answer; `arguments` is sent as given (it may be malformed JSON on purpose). */
export interface ScriptedToolCall {
  name: string;
  arguments: string;
  id?: string;
}

/**
 * One scripted answer of the fake server: a reply text (with tool calls, optionally), an HTTP error
 * (with an OpenAI error `code` such as insufficient_quota), or a hang (for timeouts).
 */
export type ScriptedAnswer = { text: string; toolCalls?: ScriptedToolCall[]; delayMs?: number } | { status: number; body?: string; code?: string } | { hangMs: number };

export interface FakeServerOptions {
  /** Answer given once the script is used up (default: HTTP 500 "script exhausted"). */
  fallback?: ScriptedAnswer;
}

/** The first tool call id of the conversation without a tool answer right after its message, if any. */
function danglingToolCall(messages: { role: string; tool_calls?: { id: string }[]; tool_call_id?: string }[]): string | undefined {
  for (const [index, message] of messages.entries()) {
    if (message.role !== "assistant" || !message.tool_calls?.length) continue;
    const answered = new Set<string>();
    for (const next of messages.slice(index + 1)) {
      if (next.role !== "tool") break;
      answered.add(next.tool_call_id ?? "");
    }
    const missing = message.tool_calls.find((call) => !answered.has(call.id));
    if (missing) return missing.id;
  }
  return undefined;
}

/**
 * A local HTTP server speaking the OpenAI chat-completions protocol, answering from a script.
 * It records every request body so tests can read the prompts the client sent.
 */
export async function startFakeOpenAIServer(script: ScriptedAnswer[], options: FakeServerOptions = {}) {
  const requests: { messages: { role: string; content: string; tool_calls?: unknown[]; tool_call_id?: string }[]; model: string; stream?: boolean; tools?: { function: { name: string; parameters: unknown } }[] }[] = [];
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
      // As OpenAI does: every assistant tool call must be answered by the tool messages that follow it.
      const dangling = danglingToolCall(parsed.messages ?? []);
      if (dangling) {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${dangling}`, type: "invalid_request_error", code: null } }));
        return;
      }
      const answer = answers.shift() ?? options.fallback ?? { status: 500, body: "script exhausted" };
      if ("hangMs" in answer) {
        setTimeout(() => { if (!response.writableEnded) response.writeHead(500).end(); }, answer.hangMs).unref();
        return;
      }
      if ("status" in answer) {
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: answer.body ?? `error ${answer.status}`, type: answer.code ?? "server_error", code: answer.code ?? null } }));
        return;
      }
      const promptTokens = Math.ceil(JSON.stringify(parsed.messages).length / 4);
      const completionTokens = Math.ceil(answer.text.length / 4);
      const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
      const toolCalls = (answer.toolCalls ?? []).map((call, index) => ({ id: call.id ?? `call_${requests.length}_${index}`, type: "function", function: { name: call.name, arguments: call.arguments } }));
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      const send = () => {
        if (parsed.stream) {
          // Server-sent events, one chunk per word of the text, then the tool calls, then usage.
          response.writeHead(200, { "content-type": "text/event-stream" });
          const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
            response.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: parsed.model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`);
          chunk({ role: "assistant", content: "" });
          for (const piece of answer.text.match(/\S+\s*|\s+/g) ?? []) chunk({ content: piece });
          toolCalls.forEach((call, index) => chunk({ tool_calls: [{ index, ...call }] }));
          chunk({}, toolCalls.length ? "tool_calls" : "stop");
          if (parsed.stream_options?.include_usage) response.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: parsed.model, choices: [], usage })}\n\n`);
          response.end("data: [DONE]\n\n");
          return;
        }
        response.writeHead(200, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            id,
            object: "chat.completion",
            created,
            model: parsed.model,
            choices: [{ index: 0, message: { role: "assistant", content: answer.text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, finish_reason: toolCalls.length ? "tool_calls" : "stop" }],
            usage,
          }),
        );
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
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
