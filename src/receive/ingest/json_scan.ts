// A look at the shape of JSON text before JSON.parse builds it: nesting depth,
// elements per object and array, string lengths and each event's size, in one
// pass over the characters with constant memory. A body of 200 000 nested
// brackets, or an array of 500 000 elements, is refused here instead of being
// built on the heap first. Pure.
//
// It does not check the syntax (JSON.parse does, afterwards): on text that is
// not JSON its verdict may be either, and the request is refused either way.
//
// One event of at most maxEventChars characters cannot threaten the heap
// whatever its shape, so it may be parsed first and checked after with
// checkParsedEvent, which says the same as scanEvents for the same event and
// costs a fraction of it.

import type { EventLimits } from "../event/mod.ts";

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

/** Where the string opened at `open` ends (the text's length when it does not). */
function closingQuote(text: string, open: number): number {
  for (let at = open + 1;;) {
    const quote = text.indexOf('"', at);
    if (quote < 0) return text.length;
    // Escaped when an odd number of backslashes stands before it.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

/**
 * Null when `text` (one event, or a JSON array of events) is within `limits`,
 * else what is over them, naming the event of a batch.
 */
export function scanEvents(text: string, limits: EventLimits): string | null {
  let first = 0;
  while (first < text.length && text.charCodeAt(first) <= 32) first++;
  const batch = text.charCodeAt(first) === OPEN_ARRAY;
  if (!batch && text.length - first > limits.maxEventChars) {
    return eventTooLarge(limits);
  }
  // The event object is at depth 1 (2 in a batch), its properties one deeper,
  // and property values may nest maxPropertyDepth levels below that.
  const eventDepth = batch ? 2 : 1;
  const maxDepth = eventDepth + 1 + limits.maxPropertyDepth;
  // Per open container: what opened it, and how many more commas it may hold.
  const opened: number[] = new Array(maxDepth + 1).fill(0);
  const room: number[] = new Array(maxDepth + 1).fill(0);
  let depth = 0;
  let eventStart = first;
  let index = 0;
  const where = (problem: string) =>
    batch
      ? `event ${index} of the batch (counting from 0): ${problem}`
      : problem;

  const n = text.length;
  for (let i = first; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      i = closingQuote(text, i);
      if (i - start - 1 > limits.maxStringChars) {
        return where(stringTooLong(limits));
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return where(nestsTooDeep(limits));
      const container = batch && depth === 1 ? BATCH : c;
      opened[depth] = container;
      room[depth] = mostElements(container, limits) - 1;
      if (depth === eventDepth) eventStart = i;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === eventDepth && batch) {
        if (i - eventStart + 1 > limits.maxEventChars) {
          return where(eventTooLarge(limits));
        }
        index++;
      }
      if (depth === 0) return null; // not JSON: JSON.parse will say so
      depth--;
    } else if (c === COMMA && depth > 0) {
      const left = room[depth]! - 1;
      room[depth] = left;
      if (left < 0) {
        const over = tooManyElements(opened[depth]!, limits);
        return opened[depth] === BATCH ? over : where(over);
      }
    }
  }
  return null;
}

/** Stands for a batch's array of events where containers are told apart. */
const BATCH = -1;

/** How many elements a container may hold, by what opened it (or BATCH). */
function mostElements(container: number, limits: EventLimits): number {
  return container === BATCH
    ? limits.maxBatch
    : container === OPEN_OBJECT
    ? limits.maxKeys
    : limits.maxArrayElements;
}

/** What is over the limits when a container holds more than mostElements. */
function tooManyElements(container: number, limits: EventLimits): string {
  return container === BATCH
    ? `a batch holds at most ${limits.maxBatch} events; this one has more`
    : container === OPEN_OBJECT
    ? tooManyKeys(limits)
    : `an array has more than ${limits.maxArrayElements} elements`;
}

// What is over the limits, in the words scanEvents and checkParsedEvent share.
const eventTooLarge = (limits: EventLimits) =>
  `the event is larger than ${limits.maxEventChars} characters of JSON`;
const stringTooLong = (limits: EventLimits) =>
  `a string is longer than ${limits.maxStringChars} characters`;
const nestsTooDeep = (limits: EventLimits) =>
  `properties nest deeper than ${limits.maxPropertyDepth} levels`;
const tooManyKeys = (limits: EventLimits) =>
  `an object has more than ${limits.maxKeys} keys`;

/**
 * Null when a parsed event (one object) is within `limits`, else what is over
 * them, in scanEvents' words. For events already known to be small.
 */
export function checkParsedEvent(
  event: Record<string, unknown>,
  limits: EventLimits,
): string | null {
  let keys = 0;
  for (const key in event) {
    if (++keys > limits.maxKeys) return tooManyKeys(limits);
    if (key.length > limits.maxStringChars) return stringTooLong(limits);
    const problem = checkValue(event[key], 0, limits);
    if (problem !== null) return problem;
  }
  return null;
}

/** A value at `depth` containers below the event object (properties is at 0). */
function checkValue(
  value: unknown,
  depth: number,
  limits: EventLimits,
): string | null {
  if (typeof value === "string") {
    return value.length > limits.maxStringChars ? stringTooLong(limits) : null;
  }
  if (typeof value !== "object" || value === null) return null;
  if (depth > limits.maxPropertyDepth) return nestsTooDeep(limits);
  if (Array.isArray(value)) {
    if (value.length > limits.maxArrayElements) {
      return tooManyElements(OPEN_ARRAY, limits);
    }
    for (const item of value) {
      const problem = checkValue(item, depth + 1, limits);
      if (problem !== null) return problem;
    }
    return null;
  }
  let keys = 0;
  for (const key in value) {
    if (++keys > limits.maxKeys) return tooManyKeys(limits);
    if (key.length > limits.maxStringChars) return stringTooLong(limits);
    const problem = checkValue(
      (value as Record<string, unknown>)[key],
      depth + 1,
      limits,
    );
    if (problem !== null) return problem;
  }
  return null;
}
