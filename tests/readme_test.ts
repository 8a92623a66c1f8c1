// The README cannot rot silently: its generated lists equal what the code
// generates and hold every setting, metric, variable and exit status; every
// hodometer command line it shows names a real subcommand with options that
// subcommand has; and it reads in a terminal (no line over 100 characters).

import { assert, assertEquals, nth } from "./assert.ts";
import { normalizeTables, renderReadme } from "../scripts/generate.ts";
import { knownOptions } from "./command_options.ts";
import { helpDefault, settingsListMarkdown } from "../src/config/table.ts";
import { type SettingDef, SETTINGS } from "../src/config/settings.ts";
import { CATALOGUE, metricsListMarkdown } from "../src/metrics/catalogue.ts";
import {
  EXIT,
  EXIT_STATUSES,
  exitStatuses,
  exitStatusMarkdown,
} from "../src/exit_codes.ts";
import {
  envVariables,
  permissions,
  permissionsMarkdown,
  V8_FLAGS,
} from "../scripts/permissions.ts";

const readme = await Deno.readTextFile(
  new URL("../README.md", import.meta.url),
);

Deno.test("the README's generated parts match the code (run `deno task generate` to fix)", () => {
  assertEquals(normalizeTables(readme), normalizeTables(renderReadme(readme)));
});

function commandLines(text: string): string[][] {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    nth(m, 1)
  );
  const lines: string[][] = [];
  for (const block of blocks) {
    for (const raw of block.replace(/\\\n\s*/g, " ").split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      const m =
        /(?:^|\s|\.\/)(?:hodometer|task hodometer|dist\/hodometer-\S+)\s+(.*)$/
          .exec(line);
      if (m && !line.startsWith("docker build")) {
        lines.push(nth(m, 1).split(/\s+/));
      }
    }
  }
  return lines;
}

Deno.test("every hodometer command in the README names a real subcommand and real options", () => {
  const lines = commandLines(readme);
  assert(lines.length >= 6, `only ${lines.length} command lines found`);
  for (const [name = "", ...args] of lines) {
    const known = knownOptions(name);
    assert(known !== undefined, `README runs unknown command ${name}`);
    for (const arg of args.filter((a) => a.startsWith("--"))) {
      assert(known.has(arg), `README: hodometer ${name} has no option ${arg}`);
    }
  }
});

Deno.test("the README has no line over 100 characters", () => {
  const long = readme.split("\n").flatMap((line, i) =>
    line.length > 100
      ? [`line ${i + 1} (${line.length}): ${line.slice(0, 60)}…`]
      : []
  );
  assertEquals(long, []);
});

/** The list as deno fmt may lay it out: every run of white space folded. */
const folded = (markdown: string) => markdown.replace(/\s+/g, " ");

Deno.test("the generated lists stay narrow and hold every setting, metric, variable and status", () => {
  const perms = permissions({});
  assert(!(perms instanceof Error));
  const lists = {
    settings: settingsListMarkdown(),
    metrics: metricsListMarkdown(),
    exit: exitStatusMarkdown(),
    permissions: permissionsMarkdown(perms),
  };

  const settings = folded(lists.settings);
  for (const s of Object.values(SETTINGS)) {
    const def = s as SettingDef<unknown>;
    for (const name of [def.env, ...(def.envAliases ?? [])]) {
      assert(settings.includes(`\`${name}\``), `setting ${name} not listed`);
    }
    const flag = `\`--${def.flag}${def.arg ? ` ${def.arg}` : ""}\``;
    assert(
      settings.includes(
        `${flag}: ${def.description}. Default: ${helpDefault(def)}.`,
      ),
      `${def.env}: flag, meaning or default missing`,
    );
  }

  const metrics = folded(lists.metrics);
  for (const m of CATALOGUE) {
    assert(
      metrics.includes(
        `\`${m.name}\` (${m.level}, ${m.type}, from ${m.source}): ${m.description}.`,
      ),
      `metric ${m.name} not listed with its level, type, source and meaning`,
    );
  }

  const exit = folded(lists.exit);
  for (const command of Object.keys(EXIT_STATUSES)) {
    for (const [code, meaning] of exitStatuses(command)) {
      if (code === EXIT.ok && !EXIT_STATUSES[command]![code]) continue;
      assert(exit.includes(meaning), `exit ${code} of ${command} not listed`);
    }
  }
  for (const code of Object.values(EXIT)) {
    assert(exit.includes(`- **${code}**`), `exit status ${code} not listed`);
  }

  const granted = folded(lists.permissions);
  for (const name of envVariables()) {
    assert(granted.includes(`\`${name}\``), `--allow-env: ${name} not listed`);
  }
  for (const flag of V8_FLAGS) {
    assert(granted.includes(`\`${flag}\``), `--v8-flags: ${flag} not listed`);
  }
  for (const p of perms) {
    assert(
      granted.includes(`- \`${p.flag.split("=")[0]}\`: ${p.why}`),
      `${p.flag} not listed with its reason`,
    );
  }

  for (const [name, markdown] of Object.entries(lists)) {
    assert(
      !markdown.split("\n").some((l) => l.startsWith("|")),
      `${name}: a table again`,
    );
  }
});

/** A heading's anchor as GitHub makes it. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

Deno.test("every in-README link leads to one of its headings", () => {
  const text = readme.replace(/```[\s\S]*?```/g, "");
  const anchors = new Set(
    [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(nth(m, 1))),
  );
  const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => nth(m, 1));
  assert(links.length >= 4, `only ${links.length} in-README links found`);
  assertEquals(links.filter((l) => !anchors.has(l)), []);
});
