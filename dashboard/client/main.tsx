import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, subscribeToChanges } from "./api";
import { RunCharts, chartData } from "./charts";
import { FAILURE_COLORS, SPEEDUP_STOPS, failureClass, type ColorMode } from "./colors";
import { DiffView } from "./diff-view";
import { ago, count, duration, money, ms, speed } from "./format";
import { Lineage } from "./lineage";
import type { CandidateDetail, CandidateNode, FleetView, RunSummary } from "./types";
import "./styles.css";

// ---------------------------------------------------------------- routing (#/ and #/runs/<id>)

interface Route {
  runId?: string;
  candidateId?: string;
  tab: string;
}

function parseRoute(): Route {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "runs" && parts[1]) return { runId: parts[1], tab: parts[2] ?? "lineage", candidateId: parts[3] };
  return { tab: "runs" };
}

function go(route: Route): void {
  location.hash = route.runId ? `#/runs/${encodeURIComponent(route.runId)}/${route.tab}${route.candidateId ? `/${encodeURIComponent(route.candidateId)}` : ""}` : "#/";
}

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const onChange = () => setRoute(parseRoute());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** Bumps a counter for every change event that names the given run (or any run when none is given). */
function useChanges(runId?: string): number {
  const [version, setVersion] = useState(0);
  useEffect(
    () =>
      subscribeToChanges((changed) => {
        if (!runId || changed.includes(runId)) setVersion((value) => value + 1);
      }),
    [runId],
  );
  return version;
}

// ---------------------------------------------------------------- small pieces

function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge status-${status}`} data-testid="status">
      {status === "running" && <span class="pulse" />}
      {status}
    </span>
  );
}

function SizeChips({ sizes }: { sizes: Record<string, number> }) {
  const entries = Object.entries(sizes);
  if (!entries.length) return <span class="muted">–</span>;
  return (
    <span class="chips">
      {entries.map(([size, value]) => (
        <span class="chip" key={size} title={`best speed-up at size ${size}`}>
          {size} <b>{speed(value)}</b>
        </span>
      ))}
    </span>
  );
}

function ErrorLine({ error }: { error?: string }) {
  return error ? <p class="error">{error}</p> : null;
}

// ---------------------------------------------------------------- runs page

function RunsPage() {
  const version = useChanges();
  const [data, setData] = useState<{ runsDirectory: string; runs: RunSummary[] }>();
  const [error, setError] = useState<string>();
  const busy = useRef(false);
  const again = useRef(false);
  useEffect(() => {
    // One request at a time: changes that arrive meanwhile are folded into one more request.
    if (busy.current) {
      again.current = true;
      return;
    }
    const load = async () => {
      busy.current = true;
      try {
        do {
          again.current = false;
          setData(await api.runs());
          setError(undefined);
        } while (again.current);
      } catch (failure) {
        setError((failure as Error).message);
      } finally {
        busy.current = false;
      }
    };
    void load();
  }, [version]);
  return (
    <main class="page">
      <section class="card">
        <div class="card-head">
          <h2>Runs</h2>
          <span class="muted">{data ? `${data.runs.length} in ${data.runsDirectory}` : "loading…"}</span>
        </div>
        <ErrorLine error={error} />
        {data && !data.runs.length && <p class="muted">No runs yet. Start one with <code>kernelevolve optimize &lt;spec&gt;</code>; it appears here as it starts.</p>}
        {data && data.runs.length > 0 && (
          <table class="runs" data-testid="runs-table" data-run-count={data.runs.length}>
            <thead>
              <tr>
                <th>status</th>
                <th>run</th>
                <th>spec</th>
                <th>platform</th>
                <th>operator</th>
                <th class="num">candidates</th>
                <th class="num">best</th>
                <th>best per size</th>
                <th class="num">tokens</th>
                <th class="num">cost</th>
                <th class="num">time</th>
              </tr>
            </thead>
            <tbody>
              {data.runs.map((run) => (
                <tr key={run.id} data-run-id={run.id} data-candidates={run.candidates} data-status={run.status} onClick={() => go({ runId: run.id, tab: "lineage" })}>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>
                    <a href={`#/runs/${encodeURIComponent(run.id)}/lineage`} class="run-id">
                      {run.id}
                    </a>
                    <div class="muted small">{ago(run.updatedAt)}</div>
                  </td>
                  <td>{run.spec}</td>
                  <td>{run.platform}</td>
                  <td>
                    {run.operator}
                    <div class="muted small">{run.policy}</div>
                  </td>
                  <td class="num" data-testid="candidate-count">
                    {run.candidates}
                    {run.budget ? <span class="muted">/{run.budget}</span> : null}
                    <div class="small">
                      <span class="ok">{run.passed}✓</span> <span class="bad">{run.failed}✗</span>
                      {run.pending ? <span class="muted"> {run.pending}…</span> : null}
                    </div>
                  </td>
                  <td class="num best" data-testid="best">{speed(run.bestSpeedup)}</td>
                  <td>
                    <SizeChips sizes={run.bestPerSize} />
                  </td>
                  <td class="num">{run.tokensInput + run.tokensOutput ? `${count(run.tokensInput)} in / ${count(run.tokensOutput)} out` : "–"}</td>
                  <td class="num">{money(run.costUsd)}</td>
                  <td class="num">{duration(run.activeMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <FleetPanel />
    </main>
  );
}

// ---------------------------------------------------------------- fleet

function FleetPanel() {
  const [fleet, setFleet] = useState<FleetView>();
  useEffect(() => {
    let alive = true;
    const load = () => api.fleet().then((value) => alive && setFleet(value), (error: Error) => alive && setFleet({ configured: true, error: error.message }));
    load();
    const timer = setInterval(load, 5000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <section class="card" data-testid="fleet" data-configured={fleet ? String(fleet.configured) : undefined}>
      <div class="card-head">
        <h2>Fleet</h2>
        <span class="muted">{fleet?.url ?? ""}</span>
      </div>
      {!fleet && <p class="muted">loading…</p>}
      {fleet && !fleet.configured && (
        <p class="muted">
          No queue configured: candidates are evaluated in-process. Start the dashboard with <code>--queue redis://HOST:PORT</code> to watch the evaluation fleet.
        </p>
      )}
      <ErrorLine error={fleet?.error} />
      {fleet?.status && (
        <div class="fleet">
          <table class="plain">
            <thead>
              <tr>
                <th>queue</th>
                <th class="num">waiting</th>
                <th class="num">active</th>
                <th class="num">done</th>
                <th class="num">failed</th>
                <th class="num">workers (slots)</th>
                <th class="num">throughput</th>
              </tr>
            </thead>
            <tbody>
              {fleet.status.queues.map((queue) => (
                <tr key={queue.name}>
                  <td>
                    {queue.platform}:{queue.tag}
                  </td>
                  <td class="num">{queue.waiting}</td>
                  <td class="num">{queue.active}</td>
                  <td class="num">{queue.completed}</td>
                  <td class="num">{queue.failed}</td>
                  <td class="num">
                    {queue.workers} ({queue.slots})
                  </td>
                  <td class="num">{queue.completedPerMinute.toFixed(1)}/min</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table class="plain">
            <thead>
              <tr>
                <th>worker</th>
                <th>hardware</th>
                <th class="num">active</th>
                <th class="num">processed</th>
                <th>heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {fleet.status.workers.map((worker) => (
                <tr key={worker.id}>
                  <td>
                    {worker.id} <span class="muted small">{worker.host}</span>
                    {worker.draining && <span class="badge status-stopped">draining</span>}
                  </td>
                  <td>
                    {String(worker.profile.device ?? worker.platform)} <span class="muted small">{worker.tag}</span>
                  </td>
                  <td class="num">
                    {worker.active}/{worker.concurrency}
                  </td>
                  <td class="num">
                    {worker.processed} <span class="bad small">{worker.failed ? `${worker.failed}✗` : ""}</span>
                  </td>
                  <td>{ago(worker.heartbeatAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// ---------------------------------------------------------------- run page

/** The run's candidates, fetched incrementally (since the last cursor) on every change event. */
function useRunData(runId: string) {
  const version = useChanges(runId);
  const [summary, setSummary] = useState<RunSummary>();
  const [nodes, setNodes] = useState<{ all: Map<string, CandidateNode>; changed: CandidateNode[]; version: number }>({ all: new Map(), changed: [], version: 0 });
  const [error, setError] = useState<string>();
  const cursor = useRef(0);
  const busy = useRef(false);
  const again = useRef(false);
  useEffect(() => {
    cursor.current = 0;
    setNodes({ all: new Map(), changed: [], version: 0 });
  }, [runId]);
  useEffect(() => {
    const load = async () => {
      if (busy.current) {
        again.current = true;
        return;
      }
      busy.current = true;
      try {
        do {
          again.current = false;
          const [run, page] = await Promise.all([api.run(runId), api.nodes(runId, cursor.current)]);
          cursor.current = page.cursor;
          setSummary(run);
          setError(undefined);
          if (page.nodes.length)
            setNodes((previous) => {
              const all = new Map(previous.all);
              for (const node of page.nodes) all.set(node.id, node);
              return { all, changed: page.nodes, version: previous.version + 1 };
            });
        } while (again.current);
      } catch (failure) {
        setError((failure as Error).message);
      } finally {
        busy.current = false;
      }
    };
    void load();
  }, [runId, version]);
  return { summary, nodes, error };
}

function RunPage({ route }: { route: Route }) {
  const runId = route.runId!;
  const { summary, nodes, error } = useRunData(runId);
  const all = nodes.all;
  const selected = route.candidateId;
  const select = (id: string | undefined, tab = route.tab) => go({ runId, tab, candidateId: id });
  return (
    <main class="page run-page" data-testid="run-page" data-candidates={all.size}>
      <section class="card run-head">
        <div class="run-title">
          <a href="#/" class="back">
            ← runs
          </a>
          <h2>{runId}</h2>
          {summary && <StatusBadge status={summary.status} />}
        </div>
        <ErrorLine error={error} />
        {summary && (
          <div class="facts">
            <Fact label="spec" value={summary.spec} />
            <Fact label="platform" value={summary.platform} />
            <Fact label="operator / policy" value={`${summary.operator} / ${summary.policy}`} />
            <Fact label="candidates" value={`${summary.candidates}${summary.budget ? ` / ${summary.budget}` : ""} (${summary.passed} passed, ${summary.failed} failed)`} testid="run-candidates" />
            <Fact label="best" value={summary.bestCandidateId ? `${speed(summary.bestSpeedup)} (${summary.bestCandidateId})` : "none yet"} />
            <Fact label="tokens / cost" value={`${count(summary.tokensInput + summary.tokensOutput)} / ${money(summary.costUsd)}`} />
            <Fact label="working time" value={duration(summary.activeMs)} />
            <div class="fact">
              <span class="label">best per size</span>
              <SizeChips sizes={summary.bestPerSize} />
            </div>
            {summary.reason && <Fact label="ended" value={summary.reason} />}
          </div>
        )}
        <nav class="tabs">
          {["lineage", "charts", "compare"].map((tab) => (
            <a key={tab} class={route.tab === tab ? "active" : ""} href={`#/runs/${encodeURIComponent(runId)}/${tab}${selected ? `/${encodeURIComponent(selected)}` : ""}`} data-tab={tab}>
              {tab}
            </a>
          ))}
        </nav>
      </section>
      {route.tab === "lineage" && <LineageTab runId={runId} summary={summary} nodes={nodes} selected={selected} onSelect={(id) => select(id)} />}
      {route.tab === "charts" && summary && <ChartsTab summary={summary} nodes={all} version={nodes.version} />}
      {route.tab === "compare" && <CompareTab runId={runId} nodes={all} selected={selected} best={summary?.bestCandidateId ?? undefined} />}
    </main>
  );
}

function Fact({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <div class="fact">
      <span class="label">{label}</span>
      <span data-testid={testid}>{value}</span>
    </div>
  );
}

function LineageTab(props: {
  runId: string;
  summary?: RunSummary;
  nodes: { all: Map<string, CandidateNode>; changed: CandidateNode[]; version: number };
  selected?: string;
  onSelect(id: string): void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const lineage = useRef<Lineage>();
  const applied = useRef(-1);
  const [mode, setMode] = useState<ColorMode>("speedup");
  const [shape, setShape] = useState<"tree" | "radial">("tree");
  const chooseShape = (value: "tree" | "radial") => {
    lineage.current?.setShape(value);
    setShape(value);
  };
  const onSelect = useRef(props.onSelect);
  onSelect.current = props.onSelect;
  useEffect(() => {
    lineage.current = new Lineage(container.current!, { onSelect: (id) => onSelect.current(id) });
    applied.current = -1;
    const onResize = () => lineage.current?.resize();
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      lineage.current?.destroy();
      lineage.current = undefined;
    };
  }, [props.runId]);
  useEffect(() => {
    if (!lineage.current) return;
    if (props.nodes.version === applied.current) {
      lineage.current.update([], props.summary?.bestSpeedup ?? 1, props.summary?.bestCandidateId ?? null);
      return;
    }
    // Mounted after candidates were loaded: draw them all; later, only what changed.
    const batch = applied.current === -1 ? [...props.nodes.all.values()] : props.nodes.changed;
    applied.current = props.nodes.version;
    lineage.current.update(batch, props.summary?.bestSpeedup ?? 1, props.summary?.bestCandidateId ?? null);
    container.current!.dataset.ready = "true";
    setShape(lineage.current.shapeInUse());
  }, [props.nodes, props.summary?.bestCandidateId]);
  useEffect(() => lineage.current?.select(props.selected), [props.selected, props.nodes.version]);
  useEffect(() => lineage.current?.setMode(mode), [mode]);
  const failures = useMemo(() => {
    const counts = new Map<string, number>();
    for (const node of props.nodes.all.values()) if (node.status === "failed") counts.set(failureClass(node), (counts.get(failureClass(node)) ?? 0) + 1);
    return counts;
  }, [props.nodes.version]);
  return (
    <div class="split">
      <section class="card lineage-card">
        <div class="toolbar">
          <span class="muted">colour by</span>
          <button class={mode === "speedup" ? "on" : ""} onClick={() => setMode("speedup")} data-testid="mode-speedup">
            speed-up
          </button>
          <button class={mode === "failure" ? "on" : ""} onClick={() => setMode("failure")} data-testid="mode-failure">
            failure reason
          </button>
          <span class="muted">layout</span>
          <button class={shape === "tree" ? "on" : ""} onClick={() => chooseShape("tree")} data-testid="shape-tree">
            tree
          </button>
          <button class={shape === "radial" ? "on" : ""} onClick={() => chooseShape("radial")} data-testid="shape-radial">
            radial
          </button>
          <span class="spacer" />
          <button onClick={() => lineage.current?.zoomBy(1.4)} title="zoom in">
            +
          </button>
          <button onClick={() => lineage.current?.zoomBy(1 / 1.4)} title="zoom out">
            −
          </button>
          <button onClick={() => lineage.current?.fit()} data-testid="fit">
            fit
          </button>
          {props.summary?.bestCandidateId && (
            <button
              onClick={() => {
                props.onSelect(props.summary!.bestCandidateId!);
                lineage.current?.focus(props.summary!.bestCandidateId!);
              }}
            >
              best ★
            </button>
          )}
        </div>
        <div class="lineage" ref={container} data-testid="lineage" />
        <div class="legend">
          {mode === "speedup" ? (
            <>
              <span class="ramp" style={{ background: `linear-gradient(90deg, ${SPEEDUP_STOPS.join(", ")})` }} />
              <span class="muted small">0.5x → {speed(Math.max(props.summary?.bestSpeedup ?? 2, 2))} (log)</span>
              <span class="swatch" style={{ background: "#adb5bd" }} /> pending <span class="swatch" style={{ background: "#dee2e6" }} /> failed
              <span class="muted small">· ★ best · dashed edge: second parent</span>
            </>
          ) : (
            Object.entries(FAILURE_COLORS)
              .filter(([name]) => failures.has(name))
              .map(([name, color]) => (
                <span key={name}>
                  <span class="swatch" style={{ background: color }} /> {name} ({failures.get(name)}){" "}
                </span>
              ))
          )}
          {mode === "failure" && !failures.size && <span class="muted small">no failures</span>}
        </div>
      </section>
      <section class="card detail-card">
        {props.selected ? (
          <CandidatePanel runId={props.runId} candidateId={props.selected} version={props.nodes.all.get(props.selected)?.status ?? ""} onSelect={props.onSelect} />
        ) : (
          <p class="muted">Click a candidate in the lineage to see its source, the diff against its parent, its verdict and per-size timings, and the prompt that produced it.</p>
        )}
      </section>
    </div>
  );
}

function useCandidate(runId: string, candidateId: string | undefined, version: string) {
  const [detail, setDetail] = useState<CandidateDetail>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!candidateId) return setDetail(undefined);
    let alive = true;
    api.candidate(runId, candidateId).then(
      (value) => {
        if (!alive) return;
        setDetail(value);
        setError(undefined);
      },
      (failure: Error) => alive && setError(failure.message),
    );
    return () => {
      alive = false;
    };
  }, [runId, candidateId, version]);
  return { detail: detail?.id === candidateId ? detail : undefined, error };
}

function CandidatePanel({ runId, candidateId, version, onSelect }: { runId: string; candidateId: string; version: string; onSelect(id: string): void }) {
  const { detail, error } = useCandidate(runId, candidateId, version);
  const [tab, setTab] = useState("verdict");
  if (error) return <ErrorLine error={error} />;
  if (!detail) return <p class="muted">loading {candidateId}…</p>;
  const tabs = ["verdict", "source", "diff", "prompt"];
  return (
    <div class="candidate" data-testid="candidate" data-candidate-id={detail.id}>
      <div class="candidate-head">
        <h3>{detail.id}</h3>
        <StatusBadge status={detail.status} />
        {detail.status === "passed" && <span class="big">{speed(detail.fitness)}</span>}
      </div>
      <div class="muted small">
        generation {detail.generation} · {detail.operator}
        {detail.strategy ? ` · ${detail.strategy}` : ""} · {detail.language}
        {detail.parentIds.length > 0 && (
          <>
            {" "}
            · parent{detail.parentIds.length > 1 ? "s" : ""}{" "}
            {detail.parentIds.map((id) => (
              <a key={id} href="javascript:void 0" onClick={() => onSelect(id)}>
                {id}{" "}
              </a>
            ))}
          </>
        )}
      </div>
      {detail.params && (
        <div class="chips params">
          {Object.entries(detail.params).map(([name, value]) => (
            <span class="chip" key={name}>
              {name}={value}
            </span>
          ))}
        </div>
      )}
      <nav class="tabs small-tabs">
        {tabs.map((name) => (
          <button key={name} class={tab === name ? "active" : ""} onClick={() => setTab(name)} data-testid={`tab-${name}`}>
            {name}
          </button>
        ))}
      </nav>
      {tab === "verdict" && <Verdict detail={detail} />}
      {tab === "source" && (
        <pre class="source" data-testid="source">
          {detail.source}
        </pre>
      )}
      {tab === "diff" &&
        (detail.parentSource !== null ? (
          <DiffView before={detail.parentSource} after={detail.source} beforeName={detail.parentIds[0]} afterName={detail.id} />
        ) : (
          <p class="muted" data-testid="diff-none">
            A seed: it has no parent to compare with.
          </p>
        ))}
      {tab === "prompt" && <PromptView detail={detail} />}
    </div>
  );
}

function TimingsTable({ result }: { result: CandidateDetail["result"] }) {
  const timings = result?.timings ?? [];
  if (!timings.length) return null;
  return (
    <table class="plain" data-testid="timings">
      <thead>
        <tr>
          <th>size</th>
          <th class="num">candidate</th>
          <th class="num">reference</th>
          <th class="num">torch.compile</th>
          <th class="num">speed-up</th>
        </tr>
      </thead>
      <tbody>
        {timings.map((timing) => (
          <tr key={timing.size}>
            <td>{timing.size}</td>
            <td class="num">
              {ms(timing.candidate.medianMs)} <span class="muted small">±{ms(timing.candidate.stdMs)}</span>
            </td>
            <td class="num">{ms(timing.reference.medianMs)}</td>
            <td class="num">{ms(timing.torchCompile?.medianMs)}</td>
            <td class="num best">{speed(timing.speedup)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Verdict({ detail }: { detail: CandidateDetail }) {
  const result = detail.result;
  if (!result) return <p class="muted">Not evaluated yet (pending).</p>;
  return (
    <div data-testid="verdict">
      <p class={result.status === "passed" ? "ok" : "bad"}>
        <b>{result.status}</b>
        {result.status === "failed" ? ` at ${result.stage}${result.reason ? ` (${result.reason})` : ""}` : ""}: {result.message}
      </p>
      {result.flags && result.flags.length > 0 && (
        <div class="chips">
          {result.flags.map((flag) => (
            <span class="chip" key={flag}>
              {flag}
            </span>
          ))}
        </div>
      )}
      <TimingsTable result={result} />
      {result.durations && Object.keys(result.durations).length > 0 && (
        <p class="muted small">
          evaluation: {Object.entries(result.durations).map(([stage, seconds]) => `${stage} ${Number(seconds).toFixed(2)} s`).join(" · ")}
        </p>
      )}
      {result.log && (
        <details open={result.status === "failed"}>
          <summary>log</summary>
          <pre class="log">{result.log}</pre>
        </details>
      )}
    </div>
  );
}

function PromptView({ detail }: { detail: CandidateDetail }) {
  if (!detail.prompt && !detail.chunks.length)
    return (
      <p class="muted" data-testid="prompt-none">
        No prompt: {detail.operator} wrote this candidate without a model{detail.params ? " (parameters shown above)" : ""}.
      </p>
    );
  return (
    <div data-testid="prompt">
      <p class="muted small">
        {detail.model ?? "model unknown"}
        {detail.tokens ? ` · ${detail.tokens.input} tokens in, ${detail.tokens.output} out` : ""}
        {detail.costUsd ? ` · ${money(detail.costUsd)}` : ""}
      </p>
      <h4>Retrieved chunks ({detail.chunks.length})</h4>
      <ul class="chunks" data-testid="chunks" data-chunk-count={detail.chunks.length}>
        {detail.chunks.map((chunk) => (
          <li key={chunk.id}>
            <details>
              <summary>
                <code>{chunk.id}</code> {chunk.title && <span>{chunk.title}</span>} <span class="muted small">{chunk.source ?? chunk.origin ?? ""}</span>
              </summary>
              <pre class="log">{chunk.text ?? "(text not in the prompt)"}</pre>
            </details>
          </li>
        ))}
      </ul>
      {detail.prompt && (
        <details open>
          <summary>prompt</summary>
          <pre class="log prompt-text" data-testid="prompt-text">
            {detail.prompt}
          </pre>
        </details>
      )}
      {detail.reply && (
        <details>
          <summary>reply</summary>
          <pre class="log">{detail.reply}</pre>
        </details>
      )}
    </div>
  );
}

function ChartsTab({ summary, nodes, version }: { summary: RunSummary; nodes: Map<string, CandidateNode>; version: number }) {
  const time = useRef<HTMLDivElement>(null);
  const size = useRef<HTMLDivElement>(null);
  const charts = useRef<RunCharts>();
  useEffect(() => {
    charts.current = new RunCharts(time.current!, size.current!);
    const onResize = () => charts.current?.resize();
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      charts.current?.destroy();
    };
  }, []);
  useEffect(() => charts.current?.update(chartData([...nodes.values()], summary.createdAt)), [version]);
  return (
    <section class="card charts">
      <div ref={time} data-testid="chart-time" />
      <div ref={size} data-testid="chart-size" />
    </section>
  );
}

function CompareTab({ runId, nodes, selected, best }: { runId: string; nodes: Map<string, CandidateNode>; selected?: string; best?: string }) {
  const ids = [...nodes.keys()];
  const defaultB = selected ?? best ?? ids[ids.length - 1];
  const defaultA = (defaultB && nodes.get(defaultB)?.parentIds[0]) ?? ids[0];
  const [a, setA] = useState<string | undefined>(defaultA);
  const [b, setB] = useState<string | undefined>(defaultB);
  useEffect(() => {
    if (!a && defaultA) setA(defaultA);
    if (!b && defaultB) setB(defaultB);
  }, [defaultA, defaultB]);
  const first = useCandidate(runId, a, nodes.get(a ?? "")?.status ?? "");
  const second = useCandidate(runId, b, nodes.get(b ?? "")?.status ?? "");
  const picker = (value: string | undefined, set: (id: string) => void, testid: string) => (
    <select value={value} onChange={(event) => set((event.target as HTMLSelectElement).value)} data-testid={testid}>
      {ids.map((id) => {
        const node = nodes.get(id)!;
        return (
          <option key={id} value={id}>
            {id} · {node.status === "passed" ? speed(node.fitness) : node.status}
          </option>
        );
      })}
    </select>
  );
  const sizes = [...new Set([...(first.detail?.result?.timings ?? []), ...(second.detail?.result?.timings ?? [])].map((timing) => timing.size))];
  const timing = (detail: CandidateDetail | undefined, name: string) => detail?.result?.timings?.find((item) => item.size === name);
  return (
    <section class="card compare" data-testid="compare">
      <div class="toolbar">
        A {picker(a, setA, "compare-a")} <span class="muted">vs</span> B {picker(b, setB, "compare-b")}
      </div>
      {first.detail && second.detail && (
        <>
          <table class="plain">
            <thead>
              <tr>
                <th />
                <th>A: {first.detail.id}</th>
                <th>B: {second.detail.id}</th>
                <th class="num">B over A</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td>verdict</td>
                <td>{first.detail.result?.message ?? first.detail.status}</td>
                <td>{second.detail.result?.message ?? second.detail.status}</td>
                <td />
              </tr>
              <tr>
                <td>fitness</td>
                <td>{speed(first.detail.fitness)}</td>
                <td>{speed(second.detail.fitness)}</td>
                <td class="num best">{first.detail.fitness > 0 && second.detail.fitness > 0 ? `${(second.detail.fitness / first.detail.fitness).toFixed(2)}x` : "–"}</td>
              </tr>
              {sizes.map((name) => {
                const left = timing(first.detail, name);
                const right = timing(second.detail, name);
                return (
                  <tr key={name}>
                    <td>size {name}</td>
                    <td>
                      {ms(left?.candidate.medianMs)} <span class="muted small">{speed(left?.speedup)}</span>
                    </td>
                    <td>
                      {ms(right?.candidate.medianMs)} <span class="muted small">{speed(right?.speedup)}</span>
                    </td>
                    <td class="num best">{left && right ? `${(left.candidate.medianMs / right.candidate.medianMs).toFixed(2)}x` : "–"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <DiffView before={first.detail.source} after={second.detail.source} beforeName={first.detail.id} afterName={second.detail.id} />
        </>
      )}
    </section>
  );
}

// ---------------------------------------------------------------- app

function App() {
  const route = useRoute();
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          KernelEvolve <span>dashboard</span>
        </a>
        <span class="spacer" />
        <LiveDot />
      </header>
      {route.runId ? <RunPage route={route} /> : <RunsPage />}
    </>
  );
}

function LiveDot() {
  const [state, setState] = useState(document.documentElement.dataset.live ?? "connecting");
  useEffect(() => {
    const observer = new MutationObserver(() => setState(document.documentElement.dataset.live ?? "connecting"));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-live"] });
    return () => observer.disconnect();
  }, []);
  return (
    <span class={`live live-${state}`}>
      <span class="dot" /> {state === "connected" ? "live" : state}
    </span>
  );
}

render(<App />, document.getElementById("app")!);
