// What one event and one request may hold, modelled on Mixpanel's own field
// limits (an event under 1 MB, fewer than 255 properties, arrays under 255
// elements, objects nested at most 3 levels, `$insert_id` at most 36 characters
// of [A-Za-z0-9-]) and tightened where a telemetry receiver needs less (a
// hodometer event is under 1 KB). Every limit is checked before anything of the
// request is kept, most of them before the JSON is parsed.

/** What one event and one request may hold; EVENT_LIMITS unless a test sets others. */
export interface EventLimits {
  /** Characters of one event's JSON. */
  maxEventChars: number;
  /** Keys of `properties`, and of any object inside it. */
  maxKeys: number;
  /** Elements of any array inside `properties`. */
  maxArrayElements: number;
  /** How deep objects and arrays may nest inside a property value. */
  maxPropertyDepth: number;
  /** Characters of any string, property names included. */
  maxStringChars: number;
  /** Characters of the event name, `token`, `distinct_id` and property names. */
  maxNameChars: number;
  /** Events in one request. */
  maxBatch: number;
}

/** The limits every request to /track and /import is held to. */
export const EVENT_LIMITS: EventLimits = {
  maxEventChars: 64 * 1024,
  maxKeys: 255,
  maxArrayElements: 255,
  maxPropertyDepth: 3,
  maxStringChars: 8 * 1024,
  maxNameChars: 255,
  maxBatch: 2000,
};

/** Mixpanel's rule: at most 36 characters of letters, digits and "-". */
export const INSERT_ID = /^[A-Za-z0-9-]{1,36}$/;

/** A `time` above this is in milliseconds (Mixpanel's own rule). */
export const MILLISECONDS_ABOVE = 1e11;
