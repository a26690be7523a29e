import type { CandidateRecord, SelectionPolicy } from "../../core/types.js";
import { UserError } from "../../core/errors.js";
import { byFitness, repairParents } from "./population.js";

export interface MapElitesOptions {
  /** Independent sub-populations. */
  islands?: number;
  /** Every this many generations, each island's best elite is copied to the next island (a ring). */
  migrationInterval?: number;
  /** Chance that a group gets two elites of the same island, for the operator to combine. */
  crossoverRate?: number;
  /** Behaviour descriptor of a candidate: one cell per distinct list. */
  features?: (candidate: CandidateRecord) => string[];
}

/** The policy's memory, kept JSON-serialisable because it lives in the graph checkpoint. */
export interface MapElitesState {
  /** Per island, cell key -> candidate id of the cell's elite. */
  archives: Record<string, string>[];
  /** Islands each candidate belongs to (seeds and migrants belong to several). */
  membership: Record<string, number[]>;
  /** Islands that asked for children of a parent in the last selection, in order, keyed by parent id. */
  requests: Record<string, number[]>;
  /** Generation of the last migration. */
  lastMigration: number;
}

/**
 * Default descriptor: the candidate's primary tuning axis (its first template parameter, else the
 * first word of its strategy) and a code-size bucket (doubling every 512 characters).
 */
export function defaultFeatures(candidate: CandidateRecord): string[] {
  const params = candidate.params ? Object.entries(candidate.params) : [];
  const strategy = params.length ? `${params[0][0]}=${params[0][1]}` : (candidate.strategy ?? "seed").split(/[\s:]/)[0] || "seed";
  const sizeBucket = Math.max(0, Math.floor(Math.log2(Math.max(1, candidate.source.length / 512))));
  return [strategy, `size${sizeBucket}`];
}

function emptyState(islands: number): MapElitesState {
  return { archives: Array.from({ length: islands }, () => ({})), membership: {}, requests: {}, lastMigration: 0 };
}

/**
 * MAP-Elites with islands: each island keeps the best candidate per feature cell and breeds only
 * from its own elites; every `migrationInterval` generations the best elite of each island moves
 * to the next one, so good ideas spread without collapsing diversity.
 */
export function createMapElitesPolicy(options: MapElitesOptions = {}): SelectionPolicy {
  const islands = options.islands ?? 3;
  const migrationInterval = options.migrationInterval ?? 5;
  const crossoverRate = options.crossoverRate ?? 0.15;
  const features = options.features ?? defaultFeatures;
  if (!Number.isInteger(islands) || islands < 1) throw new UserError("invalid_policy_option", `islands must be a positive integer, got ${islands}`);
  if (!Number.isInteger(migrationInterval) || migrationInterval < 1) {
    throw new UserError("invalid_policy_option", `migration interval must be a positive integer, got ${migrationInterval}`);
  }

  const place = (state: MapElitesState, island: number, candidate: CandidateRecord, byId: Map<string, CandidateRecord>) => {
    const members = state.membership[candidate.id] ?? [];
    if (!members.includes(island)) state.membership[candidate.id] = [...members, island];
    if (candidate.status !== "passed" || candidate.fitness <= 0) return;
    const cell = features(candidate).join("|");
    const current = byId.get(state.archives[island][cell] ?? "");
    if (!current || byFitness(candidate, current) < 0) state.archives[island][cell] = candidate.id;
  };

  return {
    id: "map-elites",
    description: `MAP-Elites with ${islands} islands, migration every ${migrationInterval} generations`,
    select(population, selectOptions) {
      const state: MapElitesState = structuredClone((selectOptions.state as unknown as MapElitesState).archives ? (selectOptions.state as unknown as MapElitesState) : emptyState(islands));
      const byId = new Map(population.map((candidate) => [candidate.id, candidate]));
      // Place the candidates evaluated since the last call on the island that asked for them.
      const ordered = [...population].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      for (const candidate of ordered) {
        if (candidate.status === "pending" || state.membership[candidate.id]) continue;
        const parentId = candidate.parentIds[0];
        const parent = parentId ? state.membership[parentId] : undefined;
        if (!parentId || !parent) {
          // A seed (or a kernel from outside the lineage) starts on every island.
          for (let island = 0; island < islands; island++) place(state, island, candidate, byId);
          continue;
        }
        const queue = state.requests[parentId];
        const island = queue?.length ? queue.shift()! : parent[0];
        // Rotate, so a parent asked for by several islands shares its children among them in turn.
        if (queue) queue.push(island);
        place(state, island, candidate, byId);
      }
      if (selectOptions.generation - state.lastMigration >= migrationInterval && islands > 1) {
        const bests = state.archives.map((archive) => Object.values(archive).map((id) => byId.get(id)!).filter(Boolean).sort(byFitness)[0]);
        bests.forEach((best, island) => {
          if (best) place(state, (island + 1) % islands, best, byId);
        });
        state.lastMigration = selectOptions.generation;
      }
      const eliteLists = state.archives.map((archive) => [...new Set(Object.values(archive))].sort().map((id) => byId.get(id)!).filter(Boolean));
      if (eliteLists.every((elites) => elites.length === 0)) {
        return { parents: repairParents(population, selectOptions.count), state: state as unknown as Record<string, unknown> };
      }
      const parents: string[][] = [];
      state.requests = {};
      for (let index = 0; index < selectOptions.count; index++) {
        // Round-robin over islands that have elites, so every island evolves each generation.
        const withElites = eliteLists.map((elites, island) => ({ elites, island })).filter((entry) => entry.elites.length > 0);
        const { elites, island } = withElites[index % withElites.length];
        const pick = () => elites[Math.min(elites.length - 1, Math.floor(selectOptions.random() * elites.length))];
        const first = pick();
        const group = [first.id];
        if (elites.length > 1 && selectOptions.random() < crossoverRate) {
          let second = pick();
          for (let attempt = 0; attempt < 8 && second.id === first.id; attempt++) second = pick();
          if (second.id !== first.id) group.push(second.id);
        }
        parents.push(group);
        (state.requests[first.id] ??= []).push(island);
      }
      return { parents, state: state as unknown as Record<string, unknown> };
    },
  };
}
