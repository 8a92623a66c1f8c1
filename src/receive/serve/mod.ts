// HTTP serving: the server (its connections watched and capped, or
// Deno.serve as the fallback), the runtime check, and the read side's shared,
// cached and streamed answers within their budget. Knows nothing of what it
// serves: the app wires the views in. Imports nothing else of the receiver
// but the event layer.

export { startReceiverServer } from "./server.ts";
export type {
  BodiesInFlight,
  ConnectionStats,
  FetchApp,
  ReceiverServer,
  ReceiverServerOptions,
} from "./server_contract.ts";
export { runtimeWarning } from "./runtime_check.ts";
export {
  READ_LIMITS,
  ReadBudget,
  type ReadLimits,
  type ReadStats,
} from "./read_budget.ts";
export {
  ReadSide,
  type ReadSideOptions,
  type SharedView,
} from "./read_side.ts";
export { fixedAnswer, fixedAnswerCopies } from "./fixed_answer.ts";
