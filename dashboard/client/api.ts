import type { CandidateDetail, CandidateNode, FleetView, RunSummary } from "./types";

/** Fetches JSON from the dashboard server (same origin; the token, when one is needed, rides in a cookie). */
async function get<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = ((await response.json()) as { error?: string }).error ?? message;
    } catch {
      // keep the status line
    }
    throw new Error(message);
  }
  return (await response.json()) as T;
}

const encode = encodeURIComponent;

export const api = {
  runs: () => get<{ runsDirectory: string; runs: RunSummary[] }>("api/runs"),
  run: (id: string) => get<RunSummary>(`api/runs/${encode(id)}`),
  nodes: (id: string, since: number) => get<{ nodes: CandidateNode[]; cursor: number }>(`api/runs/${encode(id)}/candidates?since=${since}`),
  candidate: (runId: string, id: string) => get<CandidateDetail>(`api/runs/${encode(runId)}/candidates/${encode(id)}`),
  fleet: () => get<FleetView>("api/fleet"),
};

type Listener = (changed: string[]) => void;

/** One server-sent-events stream for the page: calls each listener with the ids of runs that changed. */
export function subscribeToChanges(listener: Listener): () => void {
  const source = new EventSource("api/events");
  source.addEventListener("runs", (event) => {
    const data = JSON.parse((event as MessageEvent).data) as { changed: string[]; removed: string[] };
    listener([...data.changed, ...data.removed]);
  });
  source.addEventListener("hello", () => {
    document.documentElement.dataset.live = "connected";
  });
  source.onerror = () => {
    document.documentElement.dataset.live = "reconnecting";
  };
  return () => source.close();
}
