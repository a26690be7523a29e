import { sourceHash } from "../../../core/source-hash.js";
import type { CandidateRecord, OperatorContext, Proposal } from "../../../core/types.js";
import { defaultParams, instantiateTemplate } from "../../../agents/templates.js";
import { byFitness } from "../../policies/population.js";
import type { NewCandidate } from "../../runs/run-database.js";
import { mapConcurrent } from "../concurrency.js";
import type { EngineContext } from "../engine-context.js";
import { chooseMemoryMode } from "../memory-mode.js";
import { createRandom } from "../random.js";
import type { EvolveStateUpdate, EvolveStateValue } from "../state.js";
import { throwIfAborted } from "./abort.js";
import { ModelError } from "../../../core/errors.js";
import { FATAL_MODEL_CODES } from "../../../agents/universal-operator.js";

interface Step {
  parentIds: string[];
  count: number;
}

/** Merges identical parent groups into one operator step that asks for several children. */
function toSteps(frontier: string[][]): Step[] {
  const steps = new Map<string, Step>();
  for (const group of frontier) {
    const key = group.join("+");
    const step = steps.get(key);
    if (step) step.count += 1;
    else steps.set(key, { parentIds: group, count: 1 });
  }
  return [...steps.values()];
}

function seedProposals(context: EngineContext): NewCandidate[] {
  return context.seeds.map((seed) => {
    const params = seed.template ? defaultParams(seed.template) : undefined;
    const source = seed.template ? instantiateTemplate(seed.template, params!) : seed.source;
    return {
      generation: 0,
      parentIds: [],
      operator: "seed",
      strategy: seed.template ? `seed: ${seed.name} (default instance)` : `seed: ${seed.name}`,
      language: seed.language,
      source,
      sourceHash: sourceHash(seed.language, source),
      params,
    };
  });
}

function toNewCandidate(proposal: Proposal, generation: number, operatorId: string, memoryMode: NewCandidate["memoryMode"]): NewCandidate {
  return {
    generation,
    parentIds: proposal.parentIds,
    operator: operatorId,
    strategy: proposal.strategy,
    language: proposal.language,
    source: proposal.source,
    sourceHash: sourceHash(proposal.language, proposal.source),
    params: proposal.params,
    memoryMode,
    prompt: proposal.prompt,
    reply: proposal.reply,
    model: proposal.model,
    retrievedChunkIds: proposal.retrievedChunkIds,
    tokens: proposal.tokens,
    costUsd: proposal.costUsd,
    failure: proposal.failure,
  };
}

/**
 * operate: turns the frontier into new candidates, written to the run database as pending in one
 * transaction. If this generation's candidates are already there (a resumed run that died after
 * the commit), it proposes nothing again.
 */
export function createOperateNode(context: EngineContext) {
  return async (state: EvolveStateValue): Promise<EvolveStateUpdate> => {
    throwIfAborted(context.signal);
    const generation = state.generation;
    const existing = context.db.candidatesOfGeneration(generation);
    if (existing.length > 0) return { proposed: existing.length };
    const remaining = context.settings.budget.candidates - context.db.totals().candidates;
    if (remaining <= 0) return { proposed: 0 };
    if (generation === 0 && context.seeds.length > 0) {
      const inserted = context.db.insertCandidates(seedProposals(context).slice(0, remaining));
      return { proposed: inserted.length };
    }

    const population = context.db.candidates();
    const byId = new Map<string, CandidateRecord>(population.map((candidate) => [candidate.id, candidate]));
    const elites = population.filter((candidate) => candidate.status === "passed" && candidate.fitness > 0).sort(byFitness).slice(0, context.settings.eliteCount);
    // Without parents (no seeds, or an LLM writing from the spec alone) one step writes from scratch.
    let steps = toSteps(state.frontier);
    if (steps.length === 0) steps = [{ parentIds: [], count: context.generationSize }];
    // Trim from the end so the budget is never exceeded.
    let allowed = remaining;
    steps = steps.flatMap((step) => {
      const count = Math.min(step.count, allowed);
      allowed -= count;
      return count > 0 ? [{ ...step, count }] : [];
    });

    const before = context.db.sourceHashes();
    // Operators add what they propose to `seen`, so concurrent steps of this generation do not collide.
    const seen = new Set(before);
    const random = createRandom(state.randomState);
    const stepSeeds = steps.map(() => Math.floor(random.next() * 2 ** 32));
    const propose = async (step: Step, index: number, round: number, note?: string) => {
      const parents = step.parentIds.map((id) => byId.get(id)!).filter(Boolean);
      const siblings = parents.length ? population.filter((candidate) => candidate.parentIds[0] === parents[0].id) : [];
      const memoryMode = chooseMemoryMode({ parents, siblings, stagnation: state.stagnation, restartAfter: context.settings.restartAfterGenerations, stepIndex: index });
      const operatorContext: OperatorContext = {
        spec: context.spec,
        platform: { id: context.platform.id, language: context.language, profile: context.profile },
        generation,
        parents,
        siblings,
        elites,
        memoryMode,
        count: step.count,
        // A re-prompt draws other numbers than the first try of the step.
        random: createRandom(stepSeeds[index] + round * 7919).next,
        context: context.contextProvider,
        seen,
        signal: context.signal,
        onRetry: (retry) => context.emit("model-retry", retry, generation),
        note,
      };
      try {
        const proposals = await context.operator.propose(operatorContext);
        return { memoryMode, proposals: proposals.slice(0, step.count), error: undefined };
      } catch (error) {
        return { memoryMode, proposals: [] as Proposal[], error: error as Error };
      }
    };
    const results = await mapConcurrent(steps, context.settings.operatorConcurrency, (step, index) => propose(step, index, 0));
    throwIfAborted(context.signal);

    const batch = new Set<string>();
    const fresh: NewCandidate[] = [];
    let duplicates = 0;
    let received = 0;
    const take = (result: (typeof results)[number]) => {
      let added = 0;
      let repeated = 0;
      for (const proposal of result.proposals) {
        received++;
        const candidate = toNewCandidate(proposal, generation, context.operator.id, result.memoryMode);
        // A repeated source is dropped, except failed proposals, which have no source worth comparing.
        if (!candidate.failure && (before.has(candidate.sourceHash) || batch.has(candidate.sourceHash))) {
          repeated++;
          continue;
        }
        batch.add(candidate.sourceHash);
        fresh.push(candidate);
        added++;
      }
      duplicates += repeated;
      return { added, repeated };
    };
    const firstRound = results.map(take);
    // Steps whose proposals were only repeats get one more try, told so; an operator that ignores
    // notes (the autotuner) simply proposes nothing new again.
    const retry = steps.flatMap((step, index) => (firstRound[index].repeated > 0 && firstRound[index].added === 0 ? [{ step, index }] : []));
    let reprompted = 0;
    if (retry.length) {
      const note = "Note: your previous answer repeated a kernel that was already evaluated in this run (identical source). Write a genuinely different variant: change the algorithm, the tiling, the vectorisation or the memory access pattern, not only names, comments or formatting.";
      const again = await mapConcurrent(retry, context.settings.operatorConcurrency, ({ step, index }) => propose(step, index, 1, note));
      throwIfAborted(context.signal);
      reprompted = retry.length;
      results.push(...again);
      again.forEach(take);
    }
    const errors = results.filter((result) => result.error).map((result) => result.error!);
    // The model cannot be used as configured (refused key, unreachable endpoint, no quota): end the run.
    const fatal = errors.find((error) => error instanceof ModelError && (FATAL_MODEL_CODES as readonly string[]).includes(error.code));
    if (fatal) throw fatal;
    if (errors.length === results.length && errors.length > 0) throw errors[0];
    for (const error of errors) context.emit("operator-error", { generation, message: error.message }, generation);
    const exhaustedWhy = fresh.length
      ? null
      : duplicates > 0
        ? `the operator repeated ${duplicates} of ${received} proposed candidates (duplicates of evaluated kernels by source hash)${reprompted ? `, also after ${reprompted} re-prompt(s) with a note asking for a different variant` : ""}`
        : errors.length
          ? `the operator failed: ${errors[0].message}`
          : `the operator proposed no candidate${context.operator.whenEmpty ? ` (${context.operator.whenEmpty})` : ""}`;
    const inserted = context.db.insertCandidates(fresh.slice(0, remaining));
    return { proposed: inserted.length, randomState: random.state(), exhaustedWhy };
  };
}
