// Markup for the receiver's pages and charts, escaped by construction: a
// tagged template whose every interpolated value is escaped unless it is
// markup made by the template itself, as Hono's `html` (hono/html) does, with
// Hono's own escaping (`escapeToBuffer`) and its marked markup
// (`HtmlEscapedString`, made by `raw`), so what it makes is hono/html's
// markup. Event content is hostile, so on top of that, every string
// interpolated first has each character that would act rather than show (NUL,
// U+202E, …) made a visible escape (event/visible.ts): never the character,
// nor a reference to it.
//
// The loop is ours, not hono/html's `html`: that one (which also takes
// promises and callbacks, which no page has) makes an array of each value it
// interpolates. With the shipped V8 flags (1 MB semi-spaces), 300 renders of
// the overview of 1 000 clusters took 1 734 scavenges with it, 1 573–1 583
// with the hand-written templates before it, and 1 601 with this loop; in
// `deno task bench --baseline`, hono/html's made rendering the page anew 20 %
// slower, this loop 1–3 %.
//
// The tag is called `markup`, not `html`: deno fmt formats templates tagged
// `html` as HTML documents, which puts line breaks and indentation into what
// they render (denoland/deno#30677).

import { escapeToBuffer, type HtmlEscapedString, raw } from "hono/utils/html";
import { visible } from "../event/mod.ts";

/** Markup made by `markup` (or `trusted`): interpolated as it is, never escaped again. */
export type Html = HtmlEscapedString;

/**
 * Markup from a template: strings interpolated are made visible and escaped,
 * numbers written as they are, markup made by `markup` kept, arrays joined, and
 * `false`, `null` and `undefined` left out (write a boolean as `String(b)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markup } from "./html.ts";
 *
 * const name = "<b>\u202Eevil</b>";
 * assert.equal(
 *   String(markup`<li>${name}</li>${[markup`<i>${1}</i>`]}`),
 *   "<li>&lt;b&gt;\\u202Eevil&lt;/b&gt;</li><i>1</i>",
 * );
 * ```
 */
export function markup(
  strings: TemplateStringsArray,
  ...values: unknown[]
): Html {
  const buffer: [string] = [strings[0]!];
  for (let i = 0; i < values.length; i++) {
    append(values[i], buffer);
    buffer[0] += strings[i + 1];
  }
  return raw(buffer[0]);
}

/** One interpolated value, onto the markup being made. */
function append(value: unknown, buffer: [string]): void {
  if (typeof value === "string") escapeToBuffer(shown(value), buffer);
  else if (typeof value === "number") buffer[0] += value;
  else if (
    value === null || value === undefined || typeof value === "boolean"
  ) {
    return;
  } else if (isMarkup(value)) buffer[0] += value;
  else if (Array.isArray(value)) buffer[0] += joined(value);
  else escapeToBuffer(shown(String(value)), buffer);
}

/**
 * The pieces of a list (a table's rows, say) joined into one flat string:
 * appended one by one, a page would be one deep rope of small strings, which
 * the runtime flattens again when it encodes the page (measured: three times
 * the encoding time, and a third more garbage collection, for the overview).
 */
function joined(values: readonly unknown[]): string {
  const pieces: string[] = [];
  for (const value of values) {
    if (isMarkup(value)) pieces.push(value.toString());
    else {
      const piece: [string] = [""];
      append(value, piece);
      pieces.push(piece[0]);
    }
  }
  return pieces.join("");
}

/** Whether `value` is markup made by `markup` or `trusted` (Hono's marked string). */
function isMarkup(value: unknown): value is Html {
  return typeof value === "object" && value !== null &&
    (value as Partial<Html>).isEscaped === true;
}

/** Text of printable ASCII alone, which has nothing to make visible. */
const PRINTABLE = /^[\x20-\x7e]*$/;

/** `text` with every character that would act made a visible escape (event/visible.ts). */
const shown = (text: string) => PRINTABLE.test(text) ? text : visible(text);

/** Markup written in this program (a style sheet, say), taken as it is: never event content. */
export function trusted(markup: string): Html {
  return raw(markup);
}

/** `text` as HTML text or an attribute value: visible, and markup escaped. */
export function escapeHtml(text: string): string {
  const buffer: [string] = [""];
  escapeToBuffer(visible(text), buffer);
  return buffer[0];
}
