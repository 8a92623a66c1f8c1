// Text into HTML or SVG: event content is hostile, so every character that
// could open markup or leave an attribute becomes a character reference.

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
