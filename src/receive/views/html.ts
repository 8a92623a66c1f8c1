// Markup for the receiver's pages and charts, escaped by construction: the
// `html` tagged template of Hono (hono/html), whose every interpolated value is
// escaped unless it is markup made by the template itself. Event content is
// hostile, so on top of that, every string interpolated first has each
// character that would act rather than show (NUL, U+202E, …) made a visible
// escape (event/visible.ts): never the character, nor a reference to it.
//
// The tag is called `markup`, not `html`: deno fmt formats templates tagged
// `html` as HTML documents, which puts line breaks and indentation into what
// they render (denoland/deno#30677).

import { html as honoHtml, raw } from "hono/html";
import { escapeToBuffer, type HtmlEscapedString } from "hono/utils/html";
import { visible } from "../event/mod.ts";

/** Markup made by `markup` (or `trusted`): interpolated as it is, never escaped again. */
export type Html = HtmlEscapedString;

/** A value as interpolated: a string made visible (arrays of them too), anything else as it is. */
function shown(value: unknown): unknown {
  if (typeof value === "string") return visible(value);
  return Array.isArray(value) ? value.map(shown) : value;
}

/**
 * Markup from a template (Hono's `html`): strings interpolated are made
 * visible and escaped, numbers written as they are, markup made by `markup`
 * kept, arrays joined, and `false`, `null` and `undefined` left out (write a
 * boolean as `String(b)`).
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
  // Synchronous: nothing interpolated here is a promise.
  return honoHtml(strings, ...values.map(shown)) as Html;
}

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
