// The receiver's ground floor: what every layer above agrees on. The accepted
// event and its values, the limits an event is held to, why a request is
// refused, when an event counts as heard from, and how a client's text is
// shown. Imports nothing else of the receiver.

export type { AcceptedEvent, SnapshotValue } from "./accepted.ts";
export {
  EVENT_LIMITS,
  type EventLimits,
  INSERT_ID,
  MILLISECONDS_ABOVE,
} from "./limits.ts";
export {
  NO_EVENT,
  type Problem,
  type Rejection,
  type RejectKind,
  UNINTERPRETABLE,
} from "./rejection.ts";
export {
  importedSeenAt,
  isHodometerEvent,
  seenAt,
  stampImported,
} from "./seen_at.ts";
export { visible } from "./visible.ts";
