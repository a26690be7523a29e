import cytoscape, { type Core } from "cytoscape";
import { stratify, tree, type HierarchyNode } from "d3-hierarchy";
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

/** The lineage's stylesheet for a node size (model units); borders and the best star scale with it. */
function lineageStyle(size: number): cytoscape.StylesheetJson {
  const k = size / 16;
  return [
    {
      selector: "node",
      style: {
        width: size,
        height: size,
        "background-color": "data(color)",
        "border-width": k,
        "border-color": "#ffffff",
        label: "data(label)",
        "font-size": 9,
        color: "#343a40",
        "text-valign": "bottom",
        "text-margin-y": 3,
        "min-zoomed-font-size": 7,
      },
    },
    { selector: "node.best", style: { width: 1.6 * size, height: 1.6 * size, "border-width": 3 * k, "border-color": "#f08c00", shape: "star", "z-index": 5 } },
    { selector: "node.pending", style: { "border-style": "dashed", "border-color": "#495057", "border-width": 2 * k } },
    { selector: "node:selected", style: { "border-width": 4 * k, "border-color": "#1c7ed6", "z-index": 10 } },
    { selector: "edge", style: { width: 1.2 * Math.sqrt(k), "line-color": "#ced4da", "curve-style": "haystack", "haystack-radius": 0 } },
    { selector: "edge.extra", style: { "line-color": "#74c0fc", "line-style": "dashed", "curve-style": "straight" } },
  ];
}

export type LineageShape = "auto" | "tree" | "radial";

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
  private shape: LineageShape = "auto";
  private shapeUsed: "tree" | "radial" = "tree";
  private nodeSize = 16;
  private resizeTimer?: ReturnType<typeof setTimeout>;

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
      style: lineageStyle(16),
    });
    this.cy.on("tap", "node", (event) => options.onSelect(event.target.id()));
    this.cy.on("viewport", () => {
      if (this.userMoving) this.touched = true;
    });
    this.cy.on("zoom", () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.sizeNodesForZoom(), 150);
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
    // Viewport and node size first, so the new elements get their style once.
    if (positions && !this.touched) this.fitTo(positions);
    this.sizeNodesForZoom();
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

  /**
   * Tidy-tree positions of every candidate (d3-hierarchy). A search tree is far wider than deep
   * (thousands of children over tens of generations), so past a few hundred nodes a top-down tree
   * fits the view as a thin line; "auto" then draws the same tree radially, generations as rings.
   */
  private layout(): Map<string, { x: number; y: number }> {
    const positions = new Map<string, { x: number; y: number }>();
    const items = [{ id: ROOT, parent: "" }, ...[...this.nodes.values()].map((node) => ({ id: node.id, parent: node.parentIds.find((id) => this.nodes.has(id) && id !== node.id) ?? ROOT }))];
    let hierarchy: HierarchyNode<{ id: string; parent: string }>;
    try {
      hierarchy = stratify<{ id: string; parent: string }>()
        .id((item) => item.id)
        .parentId((item) => (item.id === ROOT ? null : item.parent))(items);
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
    hierarchy.sort((a, b) => (this.nodes.get(a.id!)?.sequence ?? 0) - (this.nodes.get(b.id!)?.sequence ?? 0));
    const flat = tree<{ id: string; parent: string }>().nodeSize([X_GAP, Y_GAP])(hierarchy);
    let [minX, maxX] = [Infinity, -Infinity];
    flat.each((point) => {
      minX = Math.min(minX, point.x);
      maxX = Math.max(maxX, point.x);
    });
    const wide = (maxX - minX) > 4 * Math.max(Y_GAP, flat.height * Y_GAP);
    this.shapeUsed = this.shape === "auto" ? (wide && this.nodes.size > 300 ? "radial" : "tree") : this.shape;
    this.container.dataset.shape = this.shapeUsed;
    if (this.shapeUsed === "tree") {
      flat.each((point) => {
        if (point.data.id !== ROOT) positions.set(point.data.id, { x: point.x, y: point.y });
      });
      return positions;
    }
    // Radial: the outer ring is long enough to keep X_GAP between leaves.
    const leaves = flat.leaves().length;
    const radius = Math.max(flat.height * Y_GAP, (leaves * X_GAP) / (2 * Math.PI));
    const radial = tree<{ id: string; parent: string }>()
      .size([2 * Math.PI, radius])
      .separation((a, b) => (a.parent === b.parent ? 1 : 2) / Math.max(1, a.depth))(hierarchy);
    radial.each((point) => {
      if (point.data.id === ROOT) return;
      const angle = point.x - Math.PI / 2;
      positions.set(point.data.id, { x: point.y * Math.cos(angle), y: point.y * Math.sin(angle) });
    });
    return positions;
  }

  /**
   * Keeps nodes at least ~3 screen pixels wide when zoomed far out (a 5,000-node overview would
   * otherwise draw sub-pixel dots): the node size doubles in steps, so the stylesheet is rebuilt only
   * when the zoom crosses a factor of two.
   */
  private sizeNodesForZoom(): void {
    const wanted = 3 / this.cy.zoom();
    const size = wanted <= 16 ? 16 : 16 * 2 ** Math.ceil(Math.log2(wanted / 16));
    if (size === this.nodeSize) return;
    this.nodeSize = size;
    this.cy.style(lineageStyle(size));
    this.container.dataset.nodeSize = String(size);
  }

  /** Tree, radial, or radial only when the tree is much wider than deep ("auto", the default). */
  setShape(shape: LineageShape): void {
    if (shape === this.shape) return;
    this.shape = shape;
    const positions = this.layout();
    this.cy.batch(() => this.cy.nodes().positions((element) => positions.get(element.id()) ?? element.position()));
    this.fitTo(positions);
    this.touched = false;
  }

  shapeInUse(): "tree" | "radial" {
    return this.shapeUsed;
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
