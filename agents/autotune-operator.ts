import type { Language } from "../core/protocol.js";
import type { CandidateRecord, Operator, OperatorContext, Proposal } from "../core/types.js";
import { UserError } from "../core/errors.js";
import { sourceHash } from "../core/source-hash.js";
import {
  enumerateInstances,
  instantiateTemplate,
  isValidParams,
  spaceSize,
  type KernelTemplate,
  type TemplateParams,
} from "./templates.js";

/** A template the autotuner may instantiate, with the name of the seed file it came from. */
export interface NamedTemplate {
  name: string;
  language: Language;
  template: KernelTemplate;
}

export interface AutotuneOperatorOptions {
  templates: NamedTemplate[];
  /** Chance that an inherit step jumps to a random point of the space instead of a neighbour. */
  restartProbability?: number;
  /** Chance that a neighbourhood step changes two parameters instead of one. */
  twoParameterProbability?: number;
  /** Random tries before falling back to enumerating the space. */
  maxAttempts?: number;
}

/** Spaces up to this size are enumerated when random sampling finds nothing new. */
const ENUMERATION_LIMIT = 200_000;

interface Draft {
  params: TemplateParams;
  parentIds: string[];
  strategy: string;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))];
}

function describeChange(from: TemplateParams, to: TemplateParams): string {
  const changes = Object.keys(to)
    .filter((name) => from[name] !== to[name])
    .map((name) => `${name} ${from[name]}->${to[name]}`);
  return changes.join(", ") || "unchanged";
}

function describeParams(params: TemplateParams): string {
  return Object.entries(params)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
}

/**
 * The offline operator: proposes new instances of the parent's template by neighbourhood search
 * (one or two parameters moved), random restarts and crossover, never repeating an instance the
 * run has seen. It needs no model, so `kernelevolve optimize` works without any network.
 */
export function createAutotuneOperator(options: AutotuneOperatorOptions): Operator {
  if (options.templates.length === 0) {
    throw new UserError("no_template", "the autotune operator needs at least one template seed kernel (a source with a 'kernelevolve:template' header)");
  }
  const restartProbability = options.restartProbability ?? 0.1;
  const twoParameterProbability = options.twoParameterProbability ?? 0.3;
  const maxAttempts = options.maxAttempts ?? 64;

  const hashOf = (named: NamedTemplate, params: TemplateParams) => sourceHash(named.language, instantiateTemplate(named.template, params));

  /** The template a candidate is an instance of: its params fit and the instance is its source. */
  function templateOf(candidate: CandidateRecord): NamedTemplate | undefined {
    if (!candidate.params) return undefined;
    const hash = sourceHash(candidate.language, candidate.source);
    return options.templates.find(
      (named) => named.language === candidate.language && isValidParams(named.template, candidate.params!) && hashOf(named, candidate.params!) === hash,
    );
  }

  function randomInstance(named: NamedTemplate, context: OperatorContext): TemplateParams | undefined {
    const { template } = named;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const params = Object.fromEntries(template.parameters.map((parameter) => [parameter.name, pick(parameter.values, context.random)]));
      if (isValidParams(template, params) && !context.seen.has(hashOf(named, params))) return params;
    }
    if (spaceSize(template) > ENUMERATION_LIMIT) return undefined;
    const unseen = enumerateInstances(template).filter((params) => !context.seen.has(hashOf(named, params)));
    return unseen.length ? pick(unseen, context.random) : undefined;
  }

  function step(named: NamedTemplate, params: TemplateParams, name: string, random: () => number, direction?: number): string | undefined {
    const parameter = named.template.parameters.find((candidate) => candidate.name === name)!;
    const position = parameter.values.indexOf(params[name]);
    if (parameter.ordered) {
      const move = direction ?? (random() < 0.5 ? -1 : 1);
      return parameter.values[position + move] ?? (direction === undefined ? parameter.values[position - move] : undefined);
    }
    const others = parameter.values.filter((value) => value !== params[name]);
    return others.length ? pick(others, random) : undefined;
  }

  function neighbour(named: NamedTemplate, params: TemplateParams, context: OperatorContext): TemplateParams | undefined {
    const tunable = named.template.parameters.filter((parameter) => parameter.values.length > 1).map((parameter) => parameter.name);
    if (tunable.length === 0) return undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const changes = tunable.length > 1 && context.random() < twoParameterProbability ? 2 : 1;
      const next = { ...params };
      const names = [...tunable];
      for (let change = 0; change < changes; change++) {
        const name = names.splice(Math.floor(context.random() * names.length), 1)[0];
        const value = step(named, next, name, context.random);
        if (value !== undefined) next[name] = value;
      }
      if (isValidParams(named.template, next) && !context.seen.has(hashOf(named, next))) return next;
    }
    // Random moves keep hitting seen or invalid points: try every single-parameter change.
    for (const name of tunable) {
      const parameter = named.template.parameters.find((candidate) => candidate.name === name)!;
      for (const value of parameter.values) {
        const next = { ...params, [name]: value };
        if (value !== params[name] && isValidParams(named.template, next) && !context.seen.has(hashOf(named, next))) return next;
      }
    }
    return undefined;
  }

  /** Continues the move of the best sibling that beat the parent, one step further the same way. */
  function followSibling(named: NamedTemplate, parent: CandidateRecord, context: OperatorContext): Draft | undefined {
    const better = context.siblings
      .filter((sibling) => sibling.status === "passed" && sibling.fitness > parent.fitness && sibling.params && templateOf(sibling) === named)
      .sort((a, b) => b.fitness - a.fitness);
    for (const sibling of better) {
      const next = { ...sibling.params! };
      for (const parameter of named.template.parameters) {
        const from = parameter.values.indexOf(parent.params![parameter.name]);
        const to = parameter.values.indexOf(sibling.params![parameter.name]);
        if (from === to) continue;
        const further = parameter.ordered ? parameter.values[to + Math.sign(to - from)] : undefined;
        if (further !== undefined) next[parameter.name] = further;
      }
      if (isValidParams(named.template, next) && !context.seen.has(hashOf(named, next))) {
        return { params: next, parentIds: [parent.id, sibling.id], strategy: `${describeChange(parent.params!, next)} (following sibling ${sibling.id})` };
      }
    }
    return undefined;
  }

  function crossover(named: NamedTemplate, first: CandidateRecord, second: CandidateRecord, context: OperatorContext): Draft | undefined {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const child = Object.fromEntries(
        named.template.parameters.map((parameter) => [parameter.name, (context.random() < 0.5 ? first : second).params![parameter.name]]),
      );
      if (isValidParams(named.template, child) && !context.seen.has(hashOf(named, child))) {
        return { params: child, parentIds: [first.id, second.id], strategy: `crossover: ${describeParams(child)}` };
      }
    }
    // Every mix was seen: mutate the mix around the fitter parent instead.
    const base = first.fitness >= second.fitness ? first : second;
    const next = neighbour(named, base.params!, context);
    return next ? { params: next, parentIds: [first.id, second.id], strategy: `crossover+mutation: ${describeChange(base.params!, next)}` } : undefined;
  }

  function restart(named: NamedTemplate, parentIds: string[], context: OperatorContext): Draft | undefined {
    const params = randomInstance(named, context);
    return params ? { params, parentIds, strategy: `restart: ${describeParams(params)}` } : undefined;
  }

  function draftOne(context: OperatorContext, usable: NamedTemplate[]): { draft: Draft; named: NamedTemplate } | undefined {
    const [parent, second] = context.parents;
    const parentTemplate = parent ? templateOf(parent) : undefined;
    if (!parent || !parentTemplate) {
      // A parent that is not a template instance (the baseline, an LLM kernel) cannot be tuned:
      // tune around the fittest instance the run knows instead, or start over in a template.
      const instance = context.elites.find((elite) => elite.status === "passed" && templateOf(elite) && usable.includes(templateOf(elite)!));
      if (instance && context.memoryMode !== "restart") {
        const named = templateOf(instance)!;
        const next = neighbour(named, instance.params!, context);
        if (next) return { draft: { params: next, parentIds: [instance.id], strategy: `${describeChange(instance.params!, next)} (from best instance ${instance.id})` }, named };
      }
      const named = pick(usable, context.random);
      const draft = restart(named, parent ? [parent.id] : [], context);
      return draft ? { draft, named } : undefined;
    }
    const named = parentTemplate;
    const attempts: (() => Draft | undefined)[] = [];
    if (context.memoryMode === "restart") attempts.push(() => restart(named, [parent.id], context));
    if (context.memoryMode === "combine" && second && templateOf(second) === named) attempts.push(() => crossover(named, parent, second, context));
    if (context.memoryMode === "compare-siblings") attempts.push(() => followSibling(named, parent, context));
    if (context.memoryMode === "inherit" && context.random() < restartProbability) attempts.push(() => restart(named, [parent.id], context));
    attempts.push(() => {
      const next = neighbour(named, parent.params!, context);
      return next ? { params: next, parentIds: [parent.id], strategy: describeChange(parent.params!, next) } : undefined;
    });
    attempts.push(() => restart(named, [parent.id], context));
    for (const attempt of attempts) {
      const draft = attempt();
      if (draft) return { draft, named };
    }
    return undefined;
  }

  return {
    id: "autotune",
    description: "Offline autotuner: neighbourhood search, restarts and crossover over the parameters of templated seed kernels",
    whenEmpty: "the autotune operator proposes none once no untried parameter setting is left near its parents",
    async propose(context: OperatorContext): Promise<Proposal[]> {
      const usable = options.templates.filter((named) => named.language === context.platform.language);
      if (usable.length === 0) {
        throw new UserError("no_template", `the autotune operator has no template in ${context.platform.language} for platform ${context.platform.id}`);
      }
      const proposals: Proposal[] = [];
      for (let index = 0; index < context.count; index++) {
        const chosen = draftOne(context, usable);
        if (!chosen) break; // the space around this parent is exhausted
        const source = instantiateTemplate(chosen.named.template, chosen.draft.params);
        // Reserve the instance at once so later steps of the same generation do not repeat it.
        context.seen.add(sourceHash(chosen.named.language, source));
        proposals.push({ source, language: chosen.named.language, parentIds: chosen.draft.parentIds, params: chosen.draft.params, strategy: chosen.draft.strategy });
      }
      return proposals;
    },
  };
}
