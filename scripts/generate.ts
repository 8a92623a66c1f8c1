// Rewrites what is generated from the code that owns it: the lists of
// README.md (configuration, metrics, exit statuses, permissions) and
// deno.json's `hodometer` task (main.ts with the binary's permissions and V8
// flags). `deno task generate`; tests/readme_test.ts and tests/shipped_test.ts
// fail when they differ.

import { metricsListMarkdown } from "../src/metrics/catalogue.ts";
import { settingsListMarkdown } from "../src/config/table.ts";
import { exitStatusMarkdown } from "../src/exit_codes.ts";
import {
  permissions,
  permissionsMarkdown,
  shippedTask,
} from "./permissions.ts";

export const README_TABLES: Record<string, () => string> = {
  config: settingsListMarkdown,
  metrics: metricsListMarkdown,
  exit: exitStatusMarkdown,
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

/** deno.json's text with the `hodometer` task as shipped. */
export function renderDenoJson(text: string): string {
  const config = JSON.parse(text);
  if (config.tasks.hodometer === shippedTask()) return text;
  config.tasks.hodometer = shippedTask();
  return `${JSON.stringify(config, null, 2)}\n`;
}

if (import.meta.main) {
  const files: Array<[string, (text: string) => string]> = [
    ["README.md", renderReadme],
    ["deno.json", renderDenoJson],
  ];
  for (const [name, render] of files) {
    const path = new URL(`../${name}`, import.meta.url);
    const before = await Deno.readTextFile(path);
    const after = render(before);
    if (after !== before) await Deno.writeTextFile(path, after);
    console.log(`${name}: ${after === before ? "up to date" : "rewritten"}`);
  }
}
