export { createGreedyPolicy } from "./greedy.js";
export { createTournamentPolicy, type TournamentOptions } from "./tournament.js";
export { createUcbTreePolicy, type UcbTreeOptions } from "./ucb-tree.js";
export { createMapElitesPolicy, defaultFeatures, type MapElitesOptions, type MapElitesState } from "./map-elites.js";
export { createPolicyRegistry } from "./registry.js";
export { byFitness, fittest, selectable } from "./population.js";
