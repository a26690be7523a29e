import { Registry } from "../../core/registry.js";
import type { SelectionPolicy } from "../../core/types.js";
import { createGreedyPolicy } from "./greedy.js";
import { createMapElitesPolicy } from "./map-elites.js";
import { createTournamentPolicy } from "./tournament.js";
import { createUcbTreePolicy } from "./ucb-tree.js";

/** The built-in selection policies (greedy, tournament, ucb, map-elites); plugins register more. */
export function createPolicyRegistry(): Registry<SelectionPolicy> {
  return new Registry<SelectionPolicy>("selection policy")
    .register(createGreedyPolicy())
    .register(createTournamentPolicy())
    .register(createUcbTreePolicy())
    .register(createMapElitesPolicy());
}
