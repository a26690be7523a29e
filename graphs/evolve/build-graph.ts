import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import type { EngineContext } from "./engine-context.js";
import { createEvaluateNode } from "./nodes/evaluate-node.js";
import { createOperateNode } from "./nodes/operate-node.js";
import { createSelectNode } from "./nodes/select-node.js";
import { createTerminateNode } from "./nodes/terminate-node.js";
import { EvolveState } from "./state.js";

/** The evolve graph: select -> operate -> evaluate -> terminate, looping until a limit is reached. */
export function buildEvolveGraph(context: EngineContext, checkpointer: BaseCheckpointSaver) {
  return new StateGraph(EvolveState)
    .addNode("select", createSelectNode(context))
    .addNode("operate", createOperateNode(context))
    .addNode("evaluate", createEvaluateNode(context))
    .addNode("terminate", createTerminateNode(context))
    .addEdge(START, "select")
    .addEdge("select", "operate")
    .addEdge("operate", "evaluate")
    .addEdge("evaluate", "terminate")
    .addConditionalEdges("terminate", (state) => (state.terminationReason ? END : "select"), ["select", END])
    .compile({ checkpointer });
}
