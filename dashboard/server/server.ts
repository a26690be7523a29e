import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { RunsReader, type ChunkResolver } from "./run-reader.js";
import { createFleetReader, type FleetReader } from "./fleet.js";

/**
 * The dashboard's HTTP server: the static client bundle (dashboard/dist), a JSON API over the run
 * databases (read-only) and one server-sent-events stream that says which runs changed. It polls
 * each run's change marker (SQLite's data_version and the run's status) every `pollMs`, so a page
 * sees a running search move without reloading.
 *
 * Bound to a loopback address it needs no token but refuses requests whose Host header names
 * another host (DNS rebinding). Bound anywhere else it requires a random token (printed at start)
 * on every request: `?token=`, an `Authorization: Bearer` header, or the cookie the first
 * authorised page load sets.
 */

export interface DashboardOptions {
  runsDirectory: string;
  /** Folder holding the built client (index.html and assets/). */
  distDirectory: string;
  host?: string;
  port?: number;
  /** Required on every request when given, and always when host is not a loopback address (then generated when absent). */
  token?: string;
  pollMs?: number;
  queueUrl?: string;
  resolveChunk?: ChunkResolver;
}

export interface DashboardServer {
  url: string;
  /** The address to open: url plus the token when one is needed. */
  openUrl: string;
  token?: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".ico": "image/x-icon",
};

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostName(header: string | undefined): string {
  if (!header) return "";
  if (header.startsWith("[")) return header.slice(0, header.indexOf("]") + 1);
  return header.split(":")[0];
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return undefined;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  response.end(text);
}

export async function startDashboardServer(options: DashboardOptions): Promise<DashboardServer> {
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopback(host);
  const token = options.token ?? (loopback ? undefined : randomBytes(24).toString("base64url"));
  const distDirectory = resolve(options.distDirectory);
  const indexFile = join(distDirectory, "index.html");
  if (!existsSync(indexFile)) throw new Error(`the dashboard client is not built (${indexFile} is missing): run npm run build:dashboard`);
  const reader = new RunsReader(options.runsDirectory, options.resolveChunk);
  const fleet: FleetReader = await createFleetReader(options.queueUrl);
  const streams = new Set<ServerResponse>();
  let markers = new Map<string, string>();
  const pollMs = options.pollMs ?? 500;

  const poll = () => {
    let next: Map<string, string>;
    try {
      next = reader.markers();
    } catch {
      return;
    }
    const changed = [...next].filter(([id, marker]) => markers.get(id) !== marker).map(([id]) => id);
    const removed = [...markers.keys()].filter((id) => !next.has(id));
    markers = next;
    if (!changed.length && !removed.length) return;
    const message = `event: runs\ndata: ${JSON.stringify({ changed, removed })}\n\n`;
    for (const stream of streams) stream.write(message);
  };
  markers = reader.markers();
  const timer = setInterval(poll, pollMs);
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(": keep-alive\n\n");
  }, 15000);

  const authorised = (request: IncomingMessage, url: URL): boolean => {
    if (!token) return isLoopback(hostName(request.headers.host));
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    return sameToken(url.searchParams.get("token") ?? undefined, token) || sameToken(bearer, token) || sameToken(cookie(request, "kernelevolve_dashboard"), token);
  };

  const serveStatic = (response: ServerResponse, pathname: string) => {
    let path = normalize(join(distDirectory, decodeURIComponent(pathname)));
    if (!path.startsWith(distDirectory + sep) && path !== distDirectory) return sendJson(response, 404, { error: "not found" });
    if (!existsSync(path) || statSync(path).isDirectory()) path = indexFile;
    const type = TYPES[extname(path)] ?? "application/octet-stream";
    const immutable = path.includes(`${sep}assets${sep}`);
    response.writeHead(200, { "content-type": type, "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache", "x-content-type-options": "nosniff" });
    response.end(readFileSync(path));
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://dashboard.invalid");
    if (!authorised(request, url)) {
      return sendJson(response, token ? 401 : 403, { error: token ? "this dashboard needs its token: open the address printed at its start" : "bad Host header" });
    }
    if (token && url.searchParams.get("token")) {
      response.setHeader("set-cookie", `kernelevolve_dashboard=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (request.method !== "GET" && request.method !== "HEAD") return sendJson(response, 405, { error: "read-only: GET only" });
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== "api") return serveStatic(response, url.pathname);
    try {
      if (parts[1] === "runs" && parts.length === 2) return sendJson(response, 200, { runsDirectory: options.runsDirectory, runs: reader.summaries() });
      if (parts[1] === "runs" && parts.length === 3) {
        const summary = reader.summary(parts[2]);
        return summary ? sendJson(response, 200, summary) : sendJson(response, 404, { error: `no run '${parts[2]}'` });
      }
      if (parts[1] === "runs" && parts[3] === "candidates" && parts.length === 4) {
        const since = Number(url.searchParams.get("since") ?? 0);
        if (!Number.isFinite(since) || since < 0) return sendJson(response, 400, { error: "since must be a time in ms >= 0" });
        const nodes = reader.nodes(parts[2], since);
        return nodes ? sendJson(response, 200, nodes) : sendJson(response, 404, { error: `no run '${parts[2]}'` });
      }
      if (parts[1] === "runs" && parts[3] === "candidates" && parts.length === 5) {
        const detail = reader.candidate(parts[2], parts[4]);
        return detail ? sendJson(response, 200, detail) : sendJson(response, 404, { error: `no candidate '${parts[4]}' in run '${parts[2]}'` });
      }
      if (parts[1] === "fleet" && parts.length === 2) return sendJson(response, 200, await fleet.read());
      if (parts[1] === "events" && parts.length === 2) {
        response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
        response.write(`event: hello\ndata: ${JSON.stringify({ pollMs })}\n\n`);
        streams.add(response);
        request.on("close", () => streams.delete(response));
        return;
      }
      return sendJson(response, 404, { error: `no API route ${url.pathname}` });
    } catch (error) {
      return sendJson(response, 500, { error: (error as Error).message });
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      if (!response.headersSent) sendJson(response, 500, { error: (error as Error).message });
      else response.end();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8377, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  // A wildcard bind is reached through this machine's name, not 0.0.0.0.
  const shownHost = host === "0.0.0.0" || host === "::" ? hostname() : host.includes(":") ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/`;
  return {
    url,
    openUrl: token ? `${url}?token=${token}` : url,
    token,
    port,
    async close() {
      clearInterval(timer);
      clearInterval(heartbeat);
      for (const stream of streams) stream.end();
      streams.clear();
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
      reader.close();
      await fleet.close();
    },
  };
}
