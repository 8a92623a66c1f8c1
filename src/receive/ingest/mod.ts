// Turning a request into validated events: its body read within the budget
// and the deadline, decompressed, its query parameters, and the events decoded
// and checked against the limits. Imports the event layer only.

export {
  BodyBudget,
  type BodyLimits,
  type BodyRead,
  readBody,
} from "./body.ts";
export { decompress, type Decompressed } from "./compression.ts";
export {
  type Checked,
  type Decoded,
  decodeEvents,
  describeProblems,
  excerpt,
  invalid,
  mediaType,
  type TrackInput,
} from "./decode.ts";
export { queryParams } from "./query.ts";
