import cytoscape, { type Core } from "cytoscape";
import { stratify, tree, type HierarchyPointNode } from "d3-hierarchy";
import { nodeColor, type ColorMode } from "./colors";
import type { CandidateNode } from "./types";

/**
 * The lineage view: d3-hierarchy's tidy-tree layout (first parent as the tree parent, seeds under
 * an invisible root) drawn by cytoscape.js on canvas, which pans, zooms and picks thousands of
 * nodes. Second parents (crossover) are extra dashed edges. New candidates are added in place as
 * the run writes them; the view keeps the person's zoom once they have moved it.
 */

const ROOT = "__root__";
const X_GAP = 26;
const Y_GAP = 70;

export interface LineageOptions {
  onSelect(id: string): void;
}

export class Lineage {
  private readonly cy: Core;
  private readonly nodes = new Map<string, CandidateNode>();
  private best = 1;
  private mode: ColorMode = "speedup";
  private touched = false;
  private selected?: string;

  constructor(private readonly container: HTMLElement, options: LineageOptions) {
    this.cy = cytoscape({
      container,
      layout: { name: "preset" },
      minZoom: 0.02,
      maxZoom: 4,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: true,
      textureOnViewport: true,
      hideEdgesOnViewport: true,
      pixelRatio: 1,
      style: [
        {
          selector: "node",
          style: {
            width: 16,
            height: 16,
            "background-color": "data(color)",
            "border-width": 1,
            "border-color": "#ffffff",
            label: "data(label)",
            "font-size": 9,
            color: "#343a40",
            "text-valign": "bottom",
            "text-margin-y": 3,
            "min-zoomed-font-size": 7,
          },
        },
        { selector: "node.best", style: { width: 24, height: 24, "border-width": 3, "border-color": "#f08c00", shape: "star" } },
        { selector: "node.pending", style: { "border-style": "dashed", "border-color": "#495057", "border-width": 2 } },
        { selector: "node:selected", style: { "border-width": 4, "border-color": "#1c7ed6", "z-index": 10 } },
        { selector: "edge", style: { width: 1.2, "line-color": "#ced4da", "curve-style": "haystack", "haystack-radius": 0 } },
        { selector: "edge.extra", style: { "line-color": "#74c0fc", "line-style": "dashed", "curve-style": "straight" } },
      ],
    });
    this.cy.on("tap", "node", (event) => options.onSelect(event.target.id()));
    this.cy.on("viewport", () => {
      if (this.userMoving) this.touched = true;
    });
    container.addEventListener("wheel", () => (this.userMoving = true), { passive: true });
    container.addEventListener("pointerdown", () => (this.userMoving = true));
    container.dataset.nodeCount = "0";
    // For tests and the benchmark: where a candidate is drawn, so they can click it like a person.
    (container as HTMLElement & { renderedPosition?: (id: string) => { x: number; y: number } | null }).renderedPosition = (id) => {
      const element = this.cy.getElementById(id);
      return element.nonempty() ? element.renderedPosition() : null;
    };
  }

  private userMoving = false;

  /** Adds or updates candidates and lays the tree out again; returns the milliseconds it took. */
  update(changed: CandidateNode[], best: number, bestId: string | null): number {
    const started = performance.now();
    const fresh: CandidateNode[] = [];
    for (const node of changed) {
      if (!this.nodes.has(node.id)) fresh.push(node);
      this.nodes.set(node.id, node);
    }
    const repaintAll = best !== this.best;
    this.best = best;
    const positions = fresh.length ? this.layout() : undefined;
    const laidOut = performance.now();
    let added = laidOut;
    this.cy.batch(() => {
      if (positions) {
        // One add() for all new elements, placed where the layout put them: far cheaper than one per node.
        const elements: cytoscape.ElementDefinition[] = fresh.map((node) => ({
          group: "nodes",
          data: { id: node.id, label: node.id, color: nodeColor(node, this.best, this.mode) },
          position: positions.get(node.id) ?? { x: 0, y: 0 },
          classes: node.status === "pending" ? "pending" : "",
        }));
        for (const node of fresh) {
          node.parentIds.forEach((parent, position) => {
            if (this.nodes.has(parent) && parent !== node.id) elements.push({ group: "edges", data: { id: `${parent}>${node.id}`, source: parent, target: node.id }, classes: position > 0 ? "extra" : "" });
          });
        }
        this.cy.add(elements);
        added = performance.now();
        if (fresh.length < this.nodes.size) this.cy.nodes().positions((element) => positions.get(element.id()) ?? element.position());
      }
      const freshIds = new Set(fresh.map((node) => node.id));
      for (const node of repaintAll ? this.nodes.values() : changed) if (!freshIds.has(node.id)) this.paint(node);
      this.cy.nodes(".best").removeClass("best");
      if (bestId && this.nodes.has(bestId)) this.cy.getElementById(bestId).addClass("best");
    });
    const batched = performance.now();
    if (fresh.length && !this.touched) this.fitTo(positions!);
    this.container.dataset.nodeCount = String(this.cy.nodes().length);
    this.container.dataset.edgeCount = String(this.cy.edges().length);
    const elapsed = performance.now() - started;
    this.container.dataset.renderMs = elapsed.toFixed(1);
    this.container.dataset.renderSteps = `layout ${(laidOut - started).toFixed(0)} add ${(added - laidOut).toFixed(0)} batch-end ${(batched - added).toFixed(0)} fit ${(performance.now() - batched).toFixed(0)}`;
    return elapsed;
  }

  /** Recolours a node; only what changed is touched, since every style change dirties its edges' caches. */
  private paint(node: CandidateNode): void {
    const element = this.cy.getElementById(node.id);
    const color = nodeColor(node, this.best, this.mode);
    if (element.data("color") !== color) element.data("color", color);
    const pending = node.status === "pending";
    if (element.hasClass("pending") !== pending) element.toggleClass("pending", pending);
  }

  /** Tidy-tree positions of every candidate (d3-hierarchy). */
  private layout(): Map<string, { x: number; y: number }> {
    const positions = new Map<string, { x: number; y: number }>();
    const items = [{ id: ROOT, parent: "" }, ...[...this.nodes.values()].map((node) => ({ id: node.id, parent: node.parentIds.find((id) => this.nodes.has(id) && id !== node.id) ?? ROOT }))];
    let root: HierarchyPointNode<{ id: string; parent: string }>;
    try {
      const hierarchy = stratify<{ id: string; parent: string }>()
        .id((item) => item.id)
        .parentId((item) => (item.id === ROOT ? null : item.parent))(items);
      hierarchy.sort((a, b) => (this.nodes.get(a.id!)?.sequence ?? 0) - (this.nodes.get(b.id!)?.sequence ?? 0));
      root = tree<{ id: string; parent: string }>().nodeSize([X_GAP, Y_GAP])(hierarchy);
    } catch {
      // A cycle in the edges (never written by the engine): fall back to generation rows.
      const perGeneration = new Map<number, number>();
      for (const node of this.nodes.values()) {
        const column = perGeneration.get(node.generation) ?? 0;
        perGeneration.set(node.generation, column + 1);
        positions.set(node.id, { x: column * X_GAP, y: node.generation * Y_GAP });
      }
      return positions;
    }
    root.each((point) => {
      if (point.data.id !== ROOT) positions.set(point.data.id, { x: point.x, y: point.y });
    });
    return positions;
  }

  setMode(mode: ColorMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.cy.batch(() => {
      for (const node of this.nodes.values()) this.paint(node);
    });
  }

  select(id: string | undefined): void {
    if (id === this.selected) return;
    if (this.selected) this.cy.getElementById(this.selected).unselect();
    this.selected = id;
    if (id && this.nodes.has(id)) this.cy.getElementById(id).select();
  }

  focus(id: string): void {
    const element = this.cy.getElementById(id);
    if (element.nonempty()) {
      this.touched = true;
      this.cy.animate({ center: { eles: element }, zoom: Math.max(this.cy.zoom(), 1) }, { duration: 250 });
    }
  }

  fit(): void {
    this.touched = false;
    this.fitTo(new Map(this.cy.nodes().map((node) => [node.id(), node.position()])));
  }

  /**
   * Fits the view to node positions. cytoscape's own fit() measures every label and edge for the
   * bounding box, which takes seconds at 5,000 nodes; the positions alone are enough.
   */
  private fitTo(positions: Map<string, { x: number; y: number }>, padding = 30): void {
    if (!positions.size) return;
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const { x, y } of positions.values()) {
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
    const width = this.container.clientWidth || 800;
    const height = this.container.clientHeight || 600;
    const margin = 12; // half a node and its label
    const zoom = Math.min(2, Math.max(this.cy.minZoom(), Math.min((width - 2 * padding) / (maxX - minX + 2 * margin || 1), (height - 2 * padding) / (maxY - minY + 2 * margin || 1))));
    this.cy.viewport({ zoom, pan: { x: width / 2 - zoom * (minX + maxX) / 2, y: height / 2 - zoom * (minY + maxY) / 2 } });
  }

  zoomBy(factor: number): void {
    this.touched = true;
    const center = { x: this.container.clientWidth / 2, y: this.container.clientHeight / 2 };
    this.cy.zoom({ level: this.cy.zoom() * factor, renderedPosition: center });
  }

  resize(): void {
    this.cy.resize();
  }

  destroy(): void {
    this.cy.destroy();
  }
}
