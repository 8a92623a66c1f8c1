// Text into HTML or SVG: event content is hostile, so every character that
// could open markup or leave an attribute becomes a character reference, and
// every character that would act rather than show (NUL, U+202E, …) a visible
// escape (event/visible.ts), never the character nor a reference to it.

import { visible } from "../event/mod.ts";

/** `text` as HTML text or an attribute value: visible, and markup escaped. */
export function escapeHtml(text: string): string {
  return visible(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
