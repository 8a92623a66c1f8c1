// The documentation cannot rot silently. README.md and docs/*.md: their
// generated lists equal what the code generates, each list in exactly one page,
// and hold every setting, metric, variable and exit status; every hodometer
// command they show names a real subcommand with options that subcommand has;
// they read in a terminal (no line over 100 characters), and the README in five
// minutes (at most 350 lines). With deploy/**/README.md: every relative link
// leads to a file that exists and every #anchor to a heading there. External
// http(s) links cannot be fetched here (CI has no network, and tests never
// leave loopback): their syntax is checked and the test prints them, to be
// looked at by a person.

import { assert, assertEquals } from "./assert.ts";
import {
  documentationPages,
  GENERATED_LISTS,
  listHomes,
  normalizeTables,
  renderPage,
} from "../scripts/generate.ts";
import { knownOptions } from "./command_options.ts";
import { helpDefault, settingsListMarkdown } from "../src/config/table.ts";
import { type SettingDef, SETTINGS } from "../src/config/settings.ts";
import { CATALOGUE, metricsListMarkdown } from "../src/metrics/catalogue.ts";
import { createProgram } from "../src/program.ts";
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
import {
  anchors,
  checkLinks,
  codeSpans,
  type Repository,
  shellLines,
  slug,
} from "./markdown.ts";

const ROOT = new URL("..", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, ROOT));

/** README.md and docs/*.md: the pages the generated lists may live in. */
const PAGES = documentationPages(ROOT);

/** Every README.md under deploy/, relative to the repository. */
function deployReadmes(dir = "deploy"): string[] {
  return [...Deno.readDirSync(new URL(`${dir}/`, ROOT))].flatMap((entry) =>
    entry.isDirectory
      ? deployReadmes(`${dir}/${entry.name}`)
      : entry.name === "README.md"
      ? [`${dir}/${entry.name}`]
      : []
  ).sort();
}

/** Every page whose links and commands are checked. */
const ALL_PAGES = [...PAGES, ...deployReadmes()];

const repository: Repository = {
  kind(path) {
    try {
      const info = Deno.statSync(new URL(path, ROOT));
      return info.isDirectory ? "dir" : "file";
    } catch {
      return undefined;
    }
  },
  read,
};

Deno.test("the generated parts of every page match the code (run `deno task generate` to fix)", () => {
  const texts = new Map(PAGES.map((path) => [path, read(path)]));
  const homes = listHomes(texts);
  assert(!(homes instanceof Error), String(homes));
  assertEquals([...homes.keys()].sort(), Object.keys(GENERATED_LISTS).sort());
  for (const [path, text] of texts) {
    assertEquals(
      normalizeTables(text),
      normalizeTables(renderPage(text)),
      `${path} differs from what the code generates`,
    );
  }
});

Deno.test("a generated list must be in exactly one page", () => {
  const marked = (name: string) =>
    `<!-- start ${name} -->\n\n<!-- end ${name} -->`;
  const all = Object.keys(GENERATED_LISTS).map(marked).join("\n");
  const twice = listHomes(new Map([["a.md", all], ["b.md", marked("exit")]]));
  assert(twice instanceof Error && twice.message.includes("a.md and b.md"));
  const none = listHomes(new Map([["a.md", marked("exit")]]));
  assert(none instanceof Error && none.message.includes("in no page"));
});

/** Options `hodometer` itself takes, before any subcommand. */
function rootOptions(): Set<string> {
  const program = createProgram(80, () => {});
  const flags = program.options.flatMap((o) => [o.long, o.short]);
  return new Set(["--help", "-h", ...flags.filter((f) => f !== undefined)]);
}

/**
 * What is wrong with `hodometer <args>`, if anything. `<command>` and
 * `[command]` stand for any subcommand; `help` takes one.
 */
function commandProblem(args: string[], root: Set<string>): string | undefined {
  const [name = "", ...rest] = args;
  const options = rest.filter((a) => a.startsWith("-")).map((a) =>
    a.split("=")[0]!
  );
  const placeholder = (word: string) => /^[<[].*[>\]]$/.test(word);
  if (name === "" || name.startsWith("-")) {
    const bad = [name, ...options].filter((o) => o !== "" && !root.has(o));
    return bad.length > 0 ? `hodometer has no option ${bad}` : undefined;
  }
  if (name === "help" || placeholder(name)) {
    const [command] = rest;
    if (name === "help" && command && !placeholder(command)) {
      return knownOptions(command) ? undefined : `no command ${command}`;
    }
    const bad = options.filter((o) => o !== "--help");
    return bad.length > 0 ? `any command: no option ${bad}` : undefined;
  }
  const known = knownOptions(name);
  if (known === undefined) return `no command ${name}`;
  const bad = options.filter((o) => !known.has(o));
  return bad.length > 0 ? `hodometer ${name} has no option ${bad}` : undefined;
}

/** The arguments after `hodometer` of each command line a page shows. */
function hodometerCommands(text: string): string[][] {
  const shown = [
    ...shellLines(text).filter((l) => !l.startsWith("docker build")),
    ...codeSpans(text),
  ];
  return shown.flatMap((line) => {
    const m =
      /(?:^|\s|\.\/)(?:hodometer|task hodometer|dist\/hodometer-\S+)(?:\s+(.*))?$/
        .exec(line);
    return m ? [(m[1] ?? "").split(/\s+/).filter((a) => a !== "")] : [];
  });
}

Deno.test("every hodometer command shown names a real subcommand and real options", () => {
  const root = rootOptions();
  let count = 0;
  const problems = ALL_PAGES.flatMap((path) =>
    hodometerCommands(read(path)).flatMap((args) => {
      count++;
      const problem = commandProblem(args, root);
      return problem
        ? [`${path}: hodometer ${args.join(" ")}: ${problem}`]
        : [];
    })
  );
  assertEquals(problems, []);
  assert(count >= 20, `only ${count} command lines found`);
});

Deno.test("the command check refuses what does not exist", () => {
  const root = rootOptions();
  assertEquals(
    commandProblem(["collect", "--level", "cluster"], root),
    undefined,
  );
  assertEquals(commandProblem(["help", "receive"], root), undefined);
  assertEquals(commandProblem(["<command>", "--help"], root), undefined);
  assertEquals(commandProblem(["--version"], root), undefined);
  assert(commandProblem(["collect", "--record-level", "all"], root));
  assert(commandProblem(["serve"], root));
  assert(commandProblem(["help", "serve"], root));
  assert(commandProblem(["--verbose"], root));
  assertEquals(
    hodometerCommands(
      "`hodometer receive --listen-port=0`\n\n```sh\n" +
        "docker run --rm hodometer run --once # note\n```\n",
    ),
    [["run", "--once"], ["receive", "--listen-port=0"]],
  );
});

Deno.test("no page has a line over 100 characters, and the README at most 350 lines", () => {
  const long = PAGES.flatMap((path) =>
    read(path).split("\n").flatMap((line, i) =>
      line.length > 100
        ? [`${path}:${i + 1} (${line.length}): ${line.slice(0, 60)}…`]
        : []
    )
  );
  assertEquals(long, []);
  const lines = read("README.md").split("\n").length - 1;
  assert(lines <= 350, `README.md has ${lines} lines`);
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

Deno.test("anchors follow GitHub's rules", () => {
  assertEquals(
    slug("Memory: what the agent needs, and why more than the Go agent's 32Mi"),
    "memory-what-the-agent-needs-and-why-more-than-the-go-agents-32mi",
  );
  assertEquals(
    slug("What `/track` accepts and answers"),
    "what-track-accepts-and-answers",
  );
  assertEquals(
    slug("`hodometer.disable=true` and our manifests"),
    "hodometerdisabletrue-and-our-manifests",
  );
  assertEquals(
    slug("[deploy/kubernetes](x.md) — `MAX_EVENTS` × 2"),
    "deploykubernetes--max_events--2",
  );
  assertEquals(slug("_Emphasis_ and **strong**"), "emphasis-and-strong");
  assertEquals(
    [...anchors(
      '# A\n\n## A\n\n```\n# A\n```\n\n### A\n\nB\n---\n<a id="x"></a>',
    )],
    ["a", "a-1", "a-2", "b", "x"],
  );
});

Deno.test("the link check finds links that lead nowhere", () => {
  const files: Record<string, string> = {
    "README.md": [
      "# Top",
      "[ok](docs/a.md#a-heading) [self](#top) [dir](docs/) [code](main.ts#L3)",
      "[missing](docs/b.md) [anchor](docs/a.md#nope) [up](../x.md)",
      "`[in code](nowhere.md)` <https://example.com/a> see https://example.org/b.",
      "[bad](https://exa mple.com) [scheme](ftp://example.com/f)",
      "```sh\n[in a fence](nowhere.md)\n```",
    ].join("\n"),
    "docs/a.md": "# A heading\n\n[back](../README.md#top)\n",
    "main.ts": "",
  };
  const repo: Repository = {
    kind: (path) =>
      path in files
        ? "file"
        : Object.keys(files).some((f) => f.startsWith(`${path}/`))
        ? "dir"
        : undefined,
    read: (path) => files[path]!,
  };
  const report = checkLinks(["README.md", "docs/a.md"], repo);
  assertEquals(
    report.problems.map((p) => p.split(":").slice(0, 3).join(":")).sort(),
    [
      "README.md:3: ../x.md",
      "README.md:3: docs/a.md#nope",
      "README.md:3: docs/b.md",
      "README.md:5: ftp",
      "README.md:5: https",
    ],
  );
  assertEquals([...report.external.keys()], [
    "https://example.com/a",
    "https://example.org/b",
  ]);
});

Deno.test("every link of README.md, docs/ and deploy/ READMEs leads somewhere", () => {
  const report = checkLinks(ALL_PAGES, repository);
  assertEquals(report.problems, []);
  assert(ALL_PAGES.length >= 3, `only ${ALL_PAGES.length} pages checked`);
  // Not fetched (no network in CI, and tests stay on loopback): listed here.
  console.log(
    `external links, syntax checked, not fetched (${report.external.size}):\n${
      [...report.external].map(([url, where]) =>
        `  ${url} (${where.join(", ")})`
      )
        .join("\n")
    }`,
  );
});
