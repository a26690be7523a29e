// Shapes of the dashboard API (dashboard/server/run-reader.ts), as the client reads them.

export interface RunSummary {
  id: string;
  spec: string;
  platform: string;
  operator: string;
  policy: string;
  status: string;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  activeMs: number;
  budget: number | null;
  candidates: number;
  pending: number;
  passed: number;
  failed: number;
  bestCandidateId: string | null;
  bestSpeedup: number;
  bestPerSize: Record<string, number>;
  tokensInput: number;
  tokensOutput: number;
  costUsd: number;
  marker: string;
}

export interface CandidateNode {
  id: string;
  sequence: number;
  generation: number;
  parentIds: string[];
  operator: string;
  strategy: string | null;
  status: string;
  fitness: number;
  stage: string | null;
  reason: string | null;
  createdAt: number;
  evaluatedAt: number | null;
  sizes: [string, number][];
}

export interface TimingStats {
  medianMs: number;
  minMs: number;
  p90Ms: number;
  meanMs: number;
  stdMs: number;
  repetitions: number;
}

export interface SizeTiming {
  size: string;
  candidate: TimingStats;
  reference: TimingStats;
  torchCompile?: TimingStats;
  speedup: number;
  achievedBandwidthGBs?: number;
  achievedTflops?: number;
}

export interface EvaluationResult {
  status: string;
  stage: string;
  reason?: string;
  message: string;
  log?: string;
  platform: string;
  timings?: SizeTiming[];
  flags?: string[];
  speedup?: number;
  staticFindings?: { check: string; severity: string; message: string; line?: number }[];
  compile?: { cached: boolean; seconds: number; compiler?: string };
  durations?: Record<string, number>;
}

export interface RetrievedChunk {
  id: string;
  title: string | null;
  origin: string | null;
  text: string | null;
  source: string | null;
  fromPrompt: boolean;
}

export interface CandidateDetail extends CandidateNode {
  language: string;
  source: string;
  params: Record<string, string> | null;
  result: EvaluationResult | null;
  tokens: { input: number; output: number } | null;
  costUsd: number | null;
  model: string | null;
  kernelPath: string;
  prompt: string | null;
  reply: string | null;
  chunks: RetrievedChunk[];
  parentSource: string | null;
}

export interface FleetWorker {
  id: string;
  host: string;
  pid: number;
  platform: string;
  tag: string;
  queue: string;
  concurrency: number;
  active: number;
  processed: number;
  failed: number;
  draining: boolean;
  profile: { device?: string; platform?: string; cores?: number; [key: string]: unknown };
  startedAt: number;
  heartbeatAt: number;
}

export interface FleetQueue {
  name: string;
  platform: string;
  tag: string;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  workers: number;
  slots: number;
  completedPerMinute: number;
}

export interface FleetView {
  configured: boolean;
  url?: string;
  error?: string;
  status?: { queues: FleetQueue[]; workers: FleetWorker[]; windowMinutes: number; time: number };
}
