// Each default is stated once. Its value is written in the settings table
// (src/config/settings.ts), with its unit, and nowhere else in the program's
// code: a module that needs one takes `SETTINGS.<key>.default`, or better is
// given the resolved setting. And `--help` and docs/configuration.md show each
// default as the table formats it (src/config/table.ts), never a copy written
// by hand.
//
// "Written" is any spelling of the value: a number as 10000, 10_000, 1e4,
// 10 * 1000, 10 * SECOND_MS or 1024 * 1024 (a product of numbers and the
// units of src/runtime/units.ts is worked out), a text as the same string
// literal (a one-word choice such as `feature` only as a fallback, `?? "feature"`:
// as a word it is the domain's vocabulary, used everywhere). Comments are not
// code. The same number meaning something else is not a default: each such
// place is in ALLOWED, with why, and an entry that no longer matches fails.

import { assert, assertEquals } from "./assert.ts";
import {
  COMMON_KEYS,
  type SettingDef,
  type SettingKey,
  SETTINGS,
} from "../src/config/settings.ts";
import { helpDefault } from "../src/config/table.ts";
import { parseDuration } from "../src/config/parsers.ts";
import { COMMANDS } from "../src/commands.ts";
import { createProgram } from "../src/program.ts";
import { GENERATED, programFiles } from "./program_files.ts";
import {
  DAY_MS,
  HOUR_MS,
  KiB,
  MiB,
  MINUTE_MS,
  SECOND_MS,
} from "../src/runtime/units.ts";

const ROOT = new URL("..", import.meta.url);

/** The one place defaults are written. */
const TABLE = "src/config/settings.ts";
/** Where the units are defined: 1024 * KiB there is a mebibyte, not a default. */
const UNITS_MODULE = "src/runtime/units.ts";
/** Generated from proto/; never edited by hand. */

/** The units a product may be written in, by the names units.ts gives them. */
const UNITS: Readonly<Record<string, number>> = {
  SECOND_MS,
  MINUTE_MS,
  HOUR_MS,
  DAY_MS,
  KiB,
  MiB,
};

/** A place where a default's value is written on purpose, meaning something else. */
interface Allowed {
  /** Repository-relative path. */
  file: string;
  /** Text of the line (comments aside) that holds it. */
  code: string;
  /** What the value means there instead. */
  why: string;
}

/**
 * The same values, meaning something else. Each is matched by its file and a
 * piece of its line; a value a place repeats to mean the setting's default
 * does not belong here: it takes `SETTINGS.<key>.default`.
 */
const ALLOWED: readonly Allowed[] = [
  {
    file: "src/receive/refusal_log.ts",
    code: "windowMs: 10_000",
    why: "the window refusals are logged in",
  },
  // 256 (MAX_CONNECTIONS)
  {
    file: "src/identity/state_file.ts",
    code: "const MAX_READ = 256",
    why: "bytes read of the state file",
  },
  {
    file: "src/kube/picks.ts",
    code: "gitVersion: pick.scalar(256)",
    why: "characters kept of a version string",
  },
  {
    file: "src/kube/json_pick.ts",
    code: "new Uint8Array(256)",
    why: "the JSON picker's first buffer, in bytes",
  },
  {
    file: "src/kube/json_pick.ts",
    code: "Math.max(this.#limit, 256)",
    why: "the JSON picker's smallest buffer, in bytes",
  },
  {
    file: "src/receive/serve/gzip_splice.ts",
    code: "Uint32Array.from({ length: 256 }",
    why: "a CRC-32 table has an entry per byte value",
  },
  // 10 000 (MAX_EVENTS, MAX_CLUSTERS; 10 s of the timeouts)
  {
    file: "src/kube/list.ts",
    code: "const MAX_PAGES = 10_000",
    why: "pages of one Kubernetes list",
  },
  {
    file: "src/receive/store/store_health.ts",
    code: "STORE_LOG_EVERY_MS = 10_000",
    why: "how often a failing store is logged",
  },
  {
    file: "src/receive/store/sqlite_store.ts",
    code: "options.maxPendingEvents ?? 10_000",
    why: "events waiting for SQLite's commit",
  },
  // 5 000 (5 s of IDLE_TIMEOUT)
  {
    file: "src/receive/store/store_health.ts",
    code: "STORE_PROBE_EVERY_MS = 5_000",
    why: "how often a failing store is probed",
  },
  {
    file: "src/receive/store/sqlite_store.ts",
    code: "const DELETE_CHUNK = 5000",
    why: "rows deleted per statement",
  },
  {
    file: "src/receive/store/sqlite_store.ts",
    code: "PRAGMA busy_timeout = 5000",
    why: "SQLite's wait for a lock",
  },
  {
    file: "src/collect/scheduler_client.ts",
    code: "policy.maxDelayMs ?? 5_000",
    why: "the longest backoff between scheduler calls",
  },
  // 30 000 (30 s of SCHEDULER_TIMEOUT)
  {
    file: "src/publish/deliver.ts",
    code: "maxBackoffMs: 30 * SECOND_MS",
    why: "the longest backoff between delivery attempts",
  },
  // 1 MiB (MAX_BODY_BYTES)
  {
    file: "src/receive/serve/shared_render.ts",
    code: "PLAIN_MAX_BYTES = 1024 * 1024",
    why: "the largest render kept uncompressed",
  },
  // 16 MiB (MAX_EVENTS_BYTES)
  {
    file: "src/receive/store/clusters.ts",
    code: "CLUSTER_BOOK_BYTES = 16 * MiB",
    why: "the cluster book's bytes, which no variable sets",
  },
  {
    file: "src/receive/serve/read_budget.ts",
    code: "sharedBytes: 16 * MiB",
    why: "the read budget's shared renders",
  },
  {
    file: "src/receive/views/charts.ts",
    code: "if (a >= 1e4) return",
    why: "from ten thousand up, a number is shown in thousands (12.3k)",
  },
  // 8001 (LISTEN_PORT)
  {
    file: "src/config/parsers.ts",
    code: "e.g. http://receiver.example:8001",
    why: "an example URL in a message (parsers.ts is below the table)",
  },
  // "::" (LISTEN_HOST)
  {
    file: "src/receive/serve/listen.ts",
    code: 'EVERY_INTERFACE = "::"',
    why: "the address whose meaning the listener acts on (both families)",
  },
  // "feature" (METRICS_LEVEL)
  {
    file: "src/kube/sources.ts",
    code: 'options.level ?? "feature"',
    why:
      "the most detailed level: every source, whatever the setting's default",
  },
];

/** A default's value found outside the table. */
interface Repetition {
  file: string;
  line: number;
  /** The line, comments aside, trimmed. */
  code: string;
  /** What was written, e.g. `10 * 1000`. */
  written: string;
  /** The settings whose default it is. */
  keys: SettingKey[];
}

/** A line's code: "" for a comment line, else the line without a trailing `// …`. */
function codeOf(line: string): string {
  const t = line.trim();
  if (t.startsWith("//") || t.startsWith("*") || t.startsWith("/*")) return "";
  return t.replace(/\s\/\/(\s.*)?$/, "").trim();
}

const NUMBER = String.raw`\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const NAME = String.raw`[A-Za-z_$][\w$]*(?:\.[A-Za-z_$#][\w$]*)*`;
const TERM = `(?:${NUMBER}|#?${NAME})`;
/** A product of terms, the longest there is: `16 * 1024 * 1024`, `8 * HOUR_MS`, `x`. */
const PRODUCT = new RegExp(`${TERM}(?:\\s*\\*(?!\\*)\\s*${TERM})*`, "g");

/**
 * The numbers a line's code writes, with how: each product of numbers and
 * units worked out (`10 * 1000` is 10000), and in a product with other names
 * each run of numbers and units on its own (`n * 1024 * 1024` holds 1048576).
 */
function numbersIn(code: string): { written: string; value: number }[] {
  const out: { written: string; value: number }[] = [];
  for (const [product] of code.matchAll(PRODUCT)) {
    let run: string[] = [];
    let value = 1;
    const close = () => {
      // A unit by itself (`MiB`) is the unit, not a value written.
      if (run.some((t) => /^\d/.test(t))) {
        out.push({ written: run.join(" * "), value });
      }
      run = [];
      value = 1;
    };
    for (const term of product.split("*").map((t) => t.trim())) {
      const known = /^\d/.test(term)
        ? Number(term.replaceAll("_", ""))
        : UNITS[term];
      if (known === undefined) {
        close();
        continue;
      }
      run.push(term);
      value *= known;
    }
    close();
  }
  return out;
}

/** The texts a line's code writes as string literals (quotes of any kind). */
function stringsIn(code: string): string[] {
  return [...code.matchAll(/(["'`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2]!);
}

/** A one-word default (a choice of a closed list, such as `feature`). */
const isWord = (text: string) => /^[A-Za-z]+$/.test(text);

/** Whether `code` falls back on the one-word `word`: `?? "word"`. */
const asFallback = (word: string, code: string) =>
  new RegExp(`\\?\\?\\s*(["'\`])${word}\\1`).test(code);

/** The settings' defaults as they may be written: by number, and by text. */
function defaultsByValue() {
  const numbers = new Map<number, SettingKey[]>();
  const texts = new Map<string, SettingKey[]>();
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const value = (SETTINGS[key] as SettingDef<unknown>).default;
    // 0 (no retention) and the like are everywhere, meaning nothing else.
    if (typeof value === "number" && value > 1) {
      numbers.set(value, [...numbers.get(value) ?? [], key]);
    } else if (typeof value === "string" && value !== "") {
      texts.set(value, [...texts.get(value) ?? [], key]);
    }
  }
  return { numbers, texts };
}

/** Every repetition of a default in one file's text. */
function repetitionsIn(
  file: string,
  text: string,
  defaults: ReturnType<typeof defaultsByValue>,
): Repetition[] {
  const out: Repetition[] = [];
  text.split("\n").forEach((line, i) => {
    const code = codeOf(line);
    if (code === "") return;
    const found = (written: string, keys: SettingKey[]) =>
      out.push({ file, line: i + 1, code, written, keys });
    for (const { written, value } of numbersIn(code)) {
      const keys = defaults.numbers.get(value);
      if (keys) found(written, keys);
    }
    for (const literal of stringsIn(code)) {
      const keys = defaults.texts.get(literal);
      if (keys && (!isWord(literal) || asFallback(literal, code))) {
        found(JSON.stringify(literal), keys);
      }
    }
  });
  return out;
}

const allowedBy = (r: Repetition) =>
  ALLOWED.find((a) => a.file === r.file && r.code.includes(a.code));

const shown = (r: Repetition) =>
  `${r.file}:${r.line}: ${r.written} is the default of ${
    r.keys.map((k) => SETTINGS[k].env).join(", ")
  }: take the setting, or SETTINGS.<key>.default of the one meant (${
    r.keys.join(", ")
  }); or, meaning something else, add it to ALLOWED with why: ${r.code}`;

Deno.test("defaults check: every spelling of a number is found, in code only", () => {
  const defaults = {
    numbers: new Map<number, SettingKey[]>([
      [10_000, ["publishTimeoutMs"]],
      [MiB, ["maxBodyBytes"]],
      [16 * MiB, ["maxEventsBytes"]],
    ]),
    texts: new Map<string, SettingKey[]>([
      ["seldon-scheduler", ["schedulerHost"]],
      ["feature", ["metricsLevel"]],
    ]),
  };
  const source = [
    "const a = 10_000;",
    "const b = f(10000, 1e4);",
    "const c = 10 * 1000 + 10 * SECOND_MS;",
    "const d = 1024 * 1024;",
    "const e = 16 * 1024 * 1024; // 10_000 in a comment is not code",
    "const f = n * 1024 * KiB + MiB;",
    "// 10_000 in a comment line",
    " * 10_000 in a doc comment",
    "const g = 100_000 + x10000 + 0.10000 + 2 ** 10 + this.#n10000;",
    'const h = "seldon-scheduler";',
    'const i = level ?? "feature";',
    'if (level === "feature") return;',
    'const url = "http://receiver.example:8001"; // http://a/ 10_000',
  ].join("\n");
  const found = repetitionsIn("x.ts", source, defaults).map((r) =>
    `${r.line} ${r.written}`
  );
  assertEquals(found, [
    "1 10_000",
    "2 10000",
    "2 1e4",
    "3 10 * 1000",
    "3 10 * SECOND_MS",
    "4 1024 * 1024",
    "5 16 * 1024 * 1024",
    "6 1024 * KiB",
    '10 "seldon-scheduler"',
    '11 "feature"',
  ]);
});

Deno.test("each default's value is written once: in the settings table, nowhere else in the program", () => {
  const defaults = defaultsByValue();
  const files = programFiles(ROOT, [TABLE, UNITS_MODULE, GENERATED]);
  const found = files.flatMap((file) =>
    repetitionsIn(file, Deno.readTextFileSync(new URL(file, ROOT)), defaults)
  );
  assertEquals(found.filter((r) => allowedBy(r) === undefined).map(shown), []);
  const unused = ALLOWED.filter((a) => !found.some((r) => allowedBy(r) === a));
  assertEquals(
    unused.map((a) => `${a.file}: ${a.code}`),
    [],
    "ALLOWED names places that no longer write a default's value: remove them",
  );
});

Deno.test("a number's default is shown from its value in its unit, never as words written by hand", () => {
  for (const [key, s] of Object.entries(SETTINGS)) {
    const def = s as SettingDef<unknown>;
    const shownAs = helpDefault(def);
    if (typeof def.default !== "number") continue;
    assertEquals(def.defaultText, undefined, `${key}: a number as words`);
    if (def.arg === "<duration>") assertEquals(def.unit, "ms", key);
    if (def.arg === "<bytes>") assertEquals(def.unit, "bytes", key);
    const value = shownAs.replace(/ \(.*\)$/, "");
    if (def.unit === "ms" && def.default !== 0) {
      assertEquals(parseDuration(value), { ok: true, value: def.default }, key);
    } else if (def.unit === "bytes") {
      assertEquals(value, `${def.default} bytes`, key);
      assert(shownAs.endsWith(" MiB)") || shownAs.endsWith(" KiB)"), key);
    } else {
      assertEquals(value, String(def.default), key);
    }
  }
  assertEquals(helpDefault(SETTINGS.intervalMs), "8h");
  assertEquals(helpDefault(SETTINGS.maxBodyBytes), "1048576 bytes (1 MiB)");
  assertEquals(helpDefault(SETTINGS.retentionMs), "0 (keep forever)");
});

/** Text as it may be wrapped: every run of white space folded to one space. */
const folded = (text: string) => text.replace(/\s+/g, " ");

Deno.test("--help of every command shows each of its settings' defaults from the table", () => {
  const program = createProgram(100, () => {});
  for (const command of COMMANDS) {
    const sub = program.commands.find((c) => c.name() === command.name);
    assert(sub, command.name);
    const help = folded(sub.helpInformation());
    for (const key of [...COMMON_KEYS, ...command.keys]) {
      const def = SETTINGS[key] as SettingDef<unknown>;
      assert(
        help.includes(`; default ${helpDefault(def)}]`) &&
          help.includes(`[env ${def.env}`),
        `hodometer ${command.name} --help: ${def.env}'s default is not ${
          helpDefault(def)
        }`,
      );
    }
  }
});

Deno.test("docs/configuration.md shows each default from the table", () => {
  const page = folded(
    Deno.readTextFileSync(new URL("docs/configuration.md", ROOT)),
  );
  for (const s of Object.values(SETTINGS)) {
    const def = s as SettingDef<unknown>;
    const item = page.split(" - `").find((i) => i.startsWith(`${def.env}\``));
    assert(item, `${def.env} is not listed`);
    assert(
      item.includes(`Default: ${helpDefault(def)}.`),
      `${def.env}: its default is not ${helpDefault(def)}: ${item}`,
    );
  }
});
