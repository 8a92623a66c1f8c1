// Rewrites the generated tables of README.md from the code that owns them:
// `deno task readme`. tests/readme_test.ts fails when they differ.

import { metricsTableMarkdown } from "../src/collect/catalogue.ts";
import { settingsTableMarkdown } from "../src/config/table.ts";
import { permissions, permissionsMarkdown } from "./permissions.ts";

export const README_TABLES: Record<string, () => string> = {
  config: settingsTableMarkdown,
  metrics: metricsTableMarkdown,
  permissions: () => {
    const perms = permissions({});
    if (perms instanceof Error) throw perms;
    return permissionsMarkdown(perms);
  },
};

export function replaceBetweenMarkers(
  text: string,
  name: string,
  body: string,
): string {
  const start = `<!-- start ${name} -->`;
  const end = `<!-- end ${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`README.md has no ${start} … ${end} markers`);
  }
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${
    text.slice(to)
  }`;
}

/**
 * The text with table cell padding, dash runs and all line wrapping folded:
 * `deno fmt` lays tables and prose out either way.
 */
export function normalizeTables(text: string): string {
  return text.split("\n").map((line) =>
    line.trim().startsWith("|")
      ? line.split("|").map((cell) => cell.trim().replace(/^-{3,}$/, "---"))
        .join("|")
      : line
  ).join("\n").replace(/\s+/g, " ");
}

export function renderReadme(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(README_TABLES)) {
    out = replaceBetweenMarkers(out, name, render());
  }
  return out;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const before = await Deno.readTextFile(path);
  const after = renderReadme(before);
  if (after !== before) await Deno.writeTextFile(path, after);
  console.log(
    after === before
      ? "README.md tables are up to date"
      : "README.md tables rewritten",
  );
}
