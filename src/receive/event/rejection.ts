// Why a request or an event was refused, as every layer that refuses one
// says it: ingestion (the body, its coding, the events in it), the app (tokens,
// the store) and /metrics, which counts refusals by kind.

/** The reference's answer to a request without an event. */
export const NO_EVENT = "no event provided";
/** The reference's answer to an event it cannot read; a detail follows it. */
export const UNINTERPRETABLE = "unable to interpret request as an event";

/** Why a request was refused; a short label for counters and logs. */
export type RejectKind =
  | "no_event"
  | "invalid_event"
  | "too_large"
  | "unsupported_encoding"
  | "unreadable_body"
  | "invalid_token"
  | "not_recorded"
  | "busy"
  | "body_timeout"
  | "store_failed";

/** A request refused: the status and message the client gets, and why. */
export interface Rejection {
  /** The HTTP status answered. */
  status: 400 | 401 | 408 | 413 | 415 | 503;
  /** Why, as /metrics and the logs count it. */
  kind: RejectKind;
  /** What the client is told: starts with the reference's message where there is one. */
  message: string;
}

/** One problem of one event: the field (as Mixpanel names it) and what is wrong. */
export interface Problem {
  /** The field, as Mixpanel names it: `event`, `properties`, `properties.token`. */
  field: string;
  /** What is wrong, in words a client can act on; never a value it sent. */
  message: string;
}
