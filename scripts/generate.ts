// Rewrites what is generated from the code that owns it: the documentation's
// lists (configuration, metrics, exit statuses, permissions), each in whichever
// page of README.md and docs/*.md holds its markers, and deno.json's
// `hodometer` task (main.ts with the binary's permissions and V8 flags).
// `deno task generate`; tests/readme_test.ts and tests/shipped_test.ts fail
// when they differ.

import { metricsListMarkdown } from "../src/metrics/catalogue.ts";
import { settingsListMarkdown } from "../src/config/table.ts";
import { exitStatusMarkdown } from "../src/exit_codes.ts";
import {
  permissions,
  permissionsMarkdown,
  shippedTask,
} from "./permissions.ts";

const ROOT = new URL("../", import.meta.url);

/** Each generated list by the name its markers carry, with its renderer. */
export const GENERATED_LISTS: Record<string, () => string> = {
  config: settingsListMarkdown,
  metrics: metricsListMarkdown,
  exit: exitStatusMarkdown,
  permissions: () => {
    const perms = permissions({});
    if (perms instanceof Error) throw perms;
    return permissionsMarkdown(perms);
  },
};

/** The pages that may hold generated lists: README.md, then docs/*.md by name. */
export function documentationPages(root: URL = ROOT): string[] {
  const docs = [...Deno.readDirSync(new URL("docs/", root))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return ["README.md", ...docs];
}

const startMarker = (name: string) => `<!-- start ${name} -->`;
const endMarker = (name: string) => `<!-- end ${name} -->`;

/** The names of the generated lists whose start marker `text` holds. */
export function listsIn(text: string): string[] {
  return Object.keys(GENERATED_LISTS).filter((name) =>
    text.includes(startMarker(name))
  );
}

/** `text` with what lies between `name`'s markers replaced by `body`. */
export function replaceBetweenMarkers(
  text: string,
  name: string,
  body: string,
): string {
  const start = startMarker(name);
  const end = endMarker(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    throw new Error(`no ${start} … ${end} markers in that order`);
  }
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${
    text.slice(to)
  }`;
}

/** A page's text with every generated list it holds rendered from the code. */
export function renderPage(text: string): string {
  let out = text;
  for (const name of listsIn(text)) {
    out = replaceBetweenMarkers(out, name, GENERATED_LISTS[name]!());
  }
  return out;
}

/**
 * Which page holds each generated list, from the pages' texts by path; an
 * error naming every list that is in no page or in more than one.
 */
export function listHomes(
  pages: ReadonlyMap<string, string>,
): Map<string, string> | Error {
  const homes = new Map<string, string[]>(
    Object.keys(GENERATED_LISTS).map((name) => [name, []]),
  );
  for (const [path, text] of pages) {
    for (const name of listsIn(text)) homes.get(name)!.push(path);
  }
  const problems = [...homes].flatMap(([name, paths]) =>
    paths.length === 1 ? [] : [
      paths.length === 0
        ? `${startMarker(name)} is in no page`
        : `${startMarker(name)} is in ${paths.join(" and ")}`,
    ]
  );
  if (problems.length > 0) return new Error(problems.join("; "));
  return new Map([...homes].map(([name, [path]]) => [name, path!]));
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

/** deno.json's text with the `hodometer` task as shipped. */
export function renderDenoJson(text: string): string {
  const config = JSON.parse(text);
  if (config.tasks.hodometer === shippedTask()) return text;
  config.tasks.hodometer = shippedTask();
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Rewrites `path` (relative to the repository) with `render`; says what it did. */
async function rewrite(path: string, render: (text: string) => string) {
  const url = new URL(path, ROOT);
  const before = await Deno.readTextFile(url);
  const after = render(before);
  if (after !== before) await Deno.writeTextFile(url, after);
  console.log(`${path}: ${after === before ? "up to date" : "rewritten"}`);
}

if (import.meta.main) {
  const pages = documentationPages();
  const texts = new Map(
    await Promise.all(
      pages.map(async (p) =>
        [p, await Deno.readTextFile(new URL(p, ROOT))] as const
      ),
    ),
  );
  const homes = listHomes(texts);
  if (homes instanceof Error) {
    console.error(`generate: ${homes.message}`);
    Deno.exit(1);
  }
  for (const path of new Set(homes.values())) await rewrite(path, renderPage);
  await rewrite("deno.json", renderDenoJson);
}
