import uPlot, { type AlignedData, type Options } from "uplot";
import "uplot/dist/uPlot.min.css";
import type { CandidateNode } from "./types";

/**
 * The run's charts, drawn by uPlot on canvas: every passing candidate's speed-up against the time
 * it was evaluated with the best so far as a step line, and the best speed-up per problem size
 * against the candidate count.
 */

const SIZE_COLORS = ["#1c7ed6", "#e8590c", "#2f9e44", "#9c36b5", "#f08c00", "#0c8599", "#c2255c", "#5c940d"];

export interface ChartData {
  overTime: AlignedData;
  perSize: { sizes: string[]; data: AlignedData };
}

/** Turns candidates (in sequence order) into the two charts' series. */
export function chartData(nodes: CandidateNode[], runStart: number): ChartData {
  const evaluated = nodes.filter((node) => node.evaluatedAt !== null && node.status !== "pending").sort((a, b) => a.evaluatedAt! - b.evaluatedAt!);
  const times: number[] = [];
  const points: (number | null)[] = [];
  const best: (number | null)[] = [];
  let top = 0;
  for (const node of evaluated) {
    times.push((node.evaluatedAt! - runStart) / 1000);
    points.push(node.status === "passed" ? node.fitness : null);
    if (node.status === "passed") top = Math.max(top, node.fitness);
    best.push(top > 0 ? top : null);
  }
  const ordered = [...nodes].sort((a, b) => a.sequence - b.sequence);
  const sizes = [...new Set(ordered.flatMap((node) => (node.status === "passed" ? node.sizes.map(([size]) => size) : [])))];
  const running = new Map<string, number>();
  const xs: number[] = [];
  const series: (number | null)[][] = sizes.map(() => []);
  ordered.forEach((node, index) => {
    if (node.status === "passed") for (const [size, speedup] of node.sizes) running.set(size, Math.max(running.get(size) ?? 0, speedup));
    xs.push(index + 1);
    sizes.forEach((size, column) => series[column].push(running.get(size) ?? null));
  });
  return { overTime: [times, points, best], perSize: { sizes, data: [xs, ...series] } };
}

function baseOptions(width: number, title: string, xLabel: string): Omit<Options, "series"> {
  return {
    title,
    width,
    height: 260,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false } },
    axes: [
      { label: xLabel, stroke: "#495057", grid: { stroke: "#f1f3f5" } },
      { label: "speed-up (x)", stroke: "#495057", grid: { stroke: "#f1f3f5" }, values: (_, ticks) => ticks.map((tick) => `${tick}x`) },
    ],
  };
}

export class RunCharts {
  private overTime?: uPlot;
  private perSize?: uPlot;
  private sizesKey = "";

  constructor(private readonly timeElement: HTMLElement, private readonly sizeElement: HTMLElement) {}

  update(data: ChartData): void {
    const width = Math.max(320, this.timeElement.clientWidth);
    if (!this.overTime) {
      this.overTime = new uPlot(
        {
          ...baseOptions(width, "Speed-up over time", "seconds since the run started"),
          series: [
            { label: "t (s)", value: (_, value) => (value === null ? "-" : `${value.toFixed(1)} s`) },
            { label: "candidate", stroke: "#3b528b", fill: "#3b528b", width: 0, points: { show: true, size: 6, fill: "#3b528b" }, paths: () => null },
            { label: "best so far", stroke: "#f08c00", width: 2, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false } },
          ],
        },
        data.overTime,
        this.timeElement,
      );
    } else this.overTime.setData(data.overTime);
    const key = data.perSize.sizes.join("|");
    if (!this.perSize || key !== this.sizesKey) {
      this.perSize?.destroy();
      this.sizesKey = key;
      this.perSize = new uPlot(
        {
          ...baseOptions(width, "Best speed-up per size", "candidates written"),
          series: [
            { label: "candidates" },
            ...data.perSize.sizes.map((size, index) => ({
              label: size,
              stroke: SIZE_COLORS[index % SIZE_COLORS.length],
              width: 2,
              spanGaps: true,
              paths: uPlot.paths.stepped!({ align: 1 }),
              points: { show: false },
            })),
          ],
        },
        data.perSize.data,
        this.sizeElement,
      );
    } else this.perSize.setData(data.perSize.data);
    this.timeElement.dataset.points = String(data.overTime[0].length);
  }

  resize(): void {
    const width = Math.max(320, this.timeElement.clientWidth);
    this.overTime?.setSize({ width, height: 260 });
    this.perSize?.setSize({ width, height: 260 });
  }

  destroy(): void {
    this.overTime?.destroy();
    this.perSize?.destroy();
  }
}
