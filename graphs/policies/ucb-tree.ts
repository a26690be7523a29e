import type { CandidateRecord, SelectionPolicy } from "../../core/types.js";
import { UserError } from "../../core/errors.js";
import { repairParents, selectable } from "./population.js";

export interface UcbTreeOptions {
  /** Weight of the exploration term of UCB1. */
  exploration?: number;
  /** A child counts as an improvement when its fitness beats its parent's by this factor (timing noise). */
  improvementFactor?: number;
}

interface TreeNode {
  candidate: CandidateRecord;
  children: TreeNode[];
  /** 1 when this candidate improved on its tree parent. */
  reward: number;
}

/**
 * UCB tree search over the lineage graph. Each correct candidate is a node whose tree parent is
 * its first parent. Walking down from the seeds, every node offers two kinds of arms: "expand me"
 * (rewarded by how often my direct children improved on me) and "go into child u" (rewarded by the
 * improvements inside u's subtree). UCB1 picks an arm at each level, so expansions concentrate on
 * branches that keep improving while rarely tried branches still get visits.
 */
export function createUcbTreePolicy(options: UcbTreeOptions = {}): SelectionPolicy {
  const exploration = options.exploration ?? Math.SQRT2;
  const improvementFactor = options.improvementFactor ?? 1.01;
  if (!(exploration >= 0)) throw new UserError("invalid_policy_option", `exploration must be >= 0, got ${exploration}`);

  return {
    id: "ucb",
    description: "UCB1 tree search over the lineage: expand the branches whose children keep improving",
    select(population, selectOptions) {
      const passed = selectable(population);
      if (passed.length === 0) return { parents: repairParents(population, selectOptions.count), state: selectOptions.state };
      const byId = new Map(population.map((candidate) => [candidate.id, candidate]));
      const nodes = new Map(passed.map((candidate) => [candidate.id, { candidate, children: [], reward: 0 } as TreeNode]));
      // Direct children of every node (failed ones included: they are tries that did not improve).
      const directTries = new Map<string, { tries: number; wins: number }>();
      const roots: TreeNode[] = [];
      for (const candidate of population) {
        const parent = candidate.parentIds.length ? byId.get(candidate.parentIds[0]) : undefined;
        const improved = parent !== undefined && candidate.status === "passed" && candidate.fitness > parent.fitness * improvementFactor;
        if (parent && candidate.status !== "pending") {
          const stats = directTries.get(parent.id) ?? { tries: 0, wins: 0 };
          stats.tries += 1;
          stats.wins += improved ? 1 : 0;
          directTries.set(parent.id, stats);
        }
        const node = nodes.get(candidate.id);
        if (!node) continue;
        node.reward = improved ? 1 : 0;
        const parentNode = parent ? nodes.get(parent.id) : undefined;
        if (parentNode) parentNode.children.push(node);
        else roots.push(node);
      }
      // Subtree statistics: visits = tries under the node (itself included), wins = improvements.
      const subtree = new Map<string, { visits: number; wins: number }>();
      const measure = (node: TreeNode): { visits: number; wins: number } => {
        const direct = directTries.get(node.candidate.id) ?? { tries: 0, wins: 0 };
        // Tries that did not become tree nodes (failed children) still count as visits without reward.
        const failedTries = direct.tries - node.children.length;
        let visits = 1 + Math.max(0, failedTries);
        let wins = node.reward;
        for (const child of node.children) {
          const stats = measure(child);
          visits += stats.visits;
          wins += stats.wins;
        }
        subtree.set(node.candidate.id, { visits, wins });
        return { visits, wins };
      };
      roots.forEach(measure);
      // Virtual visits keep the picks of one generation from all landing on the same node.
      const virtualSelf = new Map<string, number>();
      const virtualSubtree = new Map<string, number>();
      const ucb = (wins: number, visits: number, total: number) => wins / visits + exploration * Math.sqrt(Math.log(Math.max(total, 1)) / visits);

      const parents: string[][] = [];
      for (let pick = 0; pick < selectOptions.count; pick++) {
        let level = roots;
        let chosen: TreeNode | undefined;
        const path: TreeNode[] = [];
        while (!chosen) {
          const arms: { node: TreeNode; expand: boolean; wins: number; visits: number }[] = [];
          const current = path[path.length - 1];
          if (current) {
            const direct = directTries.get(current.candidate.id) ?? { tries: 0, wins: 0 };
            arms.push({ node: current, expand: true, wins: direct.wins, visits: 1 + direct.tries + (virtualSelf.get(current.candidate.id) ?? 0) });
          }
          for (const node of level) {
            const stats = subtree.get(node.candidate.id)!;
            arms.push({ node, expand: false, wins: stats.wins, visits: stats.visits + (virtualSubtree.get(node.candidate.id) ?? 0) });
          }
          const total = arms.reduce((sum, arm) => sum + arm.visits, 0);
          let best = arms[0];
          let bestScore = Number.NEGATIVE_INFINITY;
          for (const arm of arms) {
            // A tiny random tie-break so equal arms share the visits.
            const score = ucb(arm.wins, arm.visits, total) + selectOptions.random() * 1e-9;
            if (score > bestScore) {
              best = arm;
              bestScore = score;
            }
          }
          if (best.expand) chosen = best.node;
          else {
            path.push(best.node);
            level = best.node.children;
          }
        }
        parents.push([chosen.candidate.id]);
        virtualSelf.set(chosen.candidate.id, (virtualSelf.get(chosen.candidate.id) ?? 0) + 1);
        for (const node of path) virtualSubtree.set(node.candidate.id, (virtualSubtree.get(node.candidate.id) ?? 0) + 1);
      }
      return { parents, state: selectOptions.state };
    },
  };
}

