// The layout reads top-down: no import cycle among the program's modules, and
// no folder importing one above it. The order is defined once, here (LAYERS);
// the imports are Deno's own module graph (`deno info --json`): static,
// dynamic and type-only imports alike. Inside src/receive/, the rooms and what
// each may import are written down once, in its LAYERS.md, which is read here.

import { assert, assertEquals, nth } from "./assert.ts";
import { denoCommand } from "../scripts/runtime_env.ts";

const ROOT = new URL("..", import.meta.url);

/**
 * Top to bottom. A module may import its own folder (or file) and anything in
 * a lower layer; units in one layer are siblings and do not import each other.
 * A unit is a folder of src/, or a file of src/ (or main.ts) by itself.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["main.ts"],
  // the command line, then the registry of subcommands and their lazy loaders
  ["src/program.ts"],
  ["src/commands.ts"],
  // the subcommands: the agent (run, collect, metrics) and the receiver
  ["src/agent", "src/receive"],
  ["src/command_context.ts"],
  // the agent's parts: delivery, the cluster id, the sources of one collection
  ["src/publish", "src/identity", "src/collect"],
  ["src/kube", "src/proto"],
  // the catalogue and every counting rule; logging
  ["src/metrics", "src/log"],
  ["src/config"],
  ["src/exit_codes.ts", "src/help_layout.ts", "src/version.ts"],
  ["src/build_info.ts"],
  // small shared helpers
  ["src/net"],
  ["src/runtime"],
];

/** An import from one module to another (repository-relative paths). */
export interface Edge {
  from: string;
  to: string;
  /** Only by `import type` / `export type`: nothing of `to` is loaded. */
  typeOnly?: boolean;
}

/** The unit a module belongs to: its folder of src/, else the file itself. */
export function unitOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}` : path;
}

/** Edges that go sideways or upwards in `layers`, or out of the program. */
export function layerViolations(
  edges: readonly Edge[],
  layers: readonly (readonly string[])[],
): string[] {
  const rank = new Map<string, number>();
  layers.forEach((units, i) => units.forEach((u) => rank.set(u, i)));
  const out: string[] = [];
  for (const { from, to } of edges) {
    const [a, b] = [unitOf(from), unitOf(to)];
    if (a === b) continue;
    const [ra, rb] = [rank.get(a), rank.get(b)];
    if (ra === undefined || rb === undefined) {
      out.push(
        `${from} → ${to}: ${ra === undefined ? a : b} has no place in LAYERS`,
      );
    } else if (ra === rb) {
      out.push(`${from} → ${to}: ${a} and ${b} are siblings (layer ${ra})`);
    } else if (ra > rb) {
      out.push(
        `${from} → ${to}: ${a} (layer ${ra}) imports ${b}, above it (layer ${rb})`,
      );
    }
  }
  return out;
}

/** Every set of modules that import each other in a circle (Tarjan's SCCs). */
export function importCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...next.get(from) ?? [], to]);
    if (!next.has(to)) next.set(to, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    const selfLoop = (next.get(v) ?? []).includes(v);
    if (scc.length > 1 || selfLoop) cycles.push(scc.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles.sort((a, b) => nth(a, 0).localeCompare(nth(b, 0)));
}

/** The receiver: its top files, and its rooms (sub-folders) below them. */
const RECEIVE = "src/receive/";

/** Files directly in src/receive/ at most. */
export const RECEIVE_TOP_FILES = 12;

/** What one room may import: each room it names, and whether by types only. */
export type RoomImports = ReadonlyMap<string, { typesOnly: boolean }>;

/**
 * The rooms and what each may import, from the table of src/receive/LAYERS.md:
 * a row per room, `` | `views/` | `event/`, `store/` (types only) | ``, with
 * "nothing" for a room that imports no other.
 */
export function readRooms(markdown: string): Map<string, RoomImports> {
  const rooms = new Map<string, RoomImports>();
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const room = /^`(\w+)\/`$/.exec(cells[0] ?? "")?.[1];
    if (room === undefined || cells.length !== 2) continue;
    const imports = new Map<string, { typesOnly: boolean }>();
    const allowed = nth(cells, 1);
    if (allowed !== "nothing") {
      for (const item of allowed.split(",").map((i) => i.trim())) {
        const m = /^`(\w+)\/`( \(types only\))?$/.exec(item);
        assert(m, `LAYERS.md: ${room}/ may import "${item}"?`);
        imports.set(nth(m, 1), { typesOnly: m[2] !== undefined });
      }
    }
    rooms.set(room, imports);
  }
  return rooms;
}

/** The room of a receiver's module: "" for its top files, undefined outside it. */
export function roomOf(path: string): string | undefined {
  if (!path.startsWith(RECEIVE)) return undefined;
  const parts = path.slice(RECEIVE.length).split("/");
  return parts.length > 1 ? nth(parts, 0) : "";
}

/**
 * Imports that break the receiver's rooms: from a room to one its row does
 * not name (or by more than types where it says types only), from a room up
 * to the top files, into a room other than by its face (mod.ts), or into the
 * receiver from the rest of the program other than by its top files.
 */
export function roomViolations(
  edges: readonly Edge[],
  rooms: ReadonlyMap<string, RoomImports>,
): string[] {
  const out: string[] = [];
  for (const { from, to, typeOnly } of edges) {
    const [a, b] = [roomOf(from), roomOf(to)];
    if (b === undefined || a === b) continue;
    const edge = `${from} → ${to}`;
    if (a === undefined) {
      if (b !== "") out.push(`${edge}: enters the receiver below its top`);
      continue;
    }
    if (b === "") {
      out.push(`${edge}: ${a}/ imports the receiver's top, above it`);
      continue;
    }
    if (!rooms.has(b)) out.push(`${edge}: ${b}/ has no row in LAYERS.md`);
    const allowed = a === "" ? { typesOnly: false } : rooms.get(a)?.get(b);
    if (a !== "" && !rooms.has(a)) {
      out.push(`${edge}: ${a}/ has no row in LAYERS.md`);
    } else if (allowed === undefined) {
      out.push(`${edge}: ${a}/ may not import ${b}/`);
    } else if (allowed.typesOnly && !typeOnly) {
      out.push(`${edge}: ${a}/ may import only types of ${b}/`);
    }
    if (to !== `${RECEIVE}${b}/mod.ts`) {
      out.push(`${edge}: into ${b}/ other than by its face, ${b}/mod.ts`);
    }
  }
  return out;
}

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

const relative = (specifier: string) =>
  specifier.startsWith(ROOT.href)
    ? decodeURIComponent(specifier.slice(ROOT.href.length))
    : undefined;

async function moduleGraph(root: string): Promise<InfoModule[]> {
  const out = await denoCommand({
    args: ["info", "--json", root],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
  }).modules;
}

function programFiles(): string[] {
  const files = ["main.ts"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  walk("src");
  return files.sort();
}

/**
 * The imports among main.ts and src/: the graph from main.ts, then from every
 * file of src/ it does not reach (a module only a script or test uses).
 */
function programEdges(): Promise<Edge[]> {
  return programEdgesOnce ??= readProgramEdges();
}
let programEdgesOnce: Promise<Edge[]> | undefined;

async function readProgramEdges(): Promise<Edge[]> {
  const edges = new Map<string, Edge>();
  const seen = new Set<string>();
  for (const file of programFiles()) {
    if (seen.has(file)) continue;
    for (const m of await moduleGraph(file)) {
      const from = relative(m.specifier);
      if (from === undefined || seen.has(from)) continue;
      seen.add(from);
      for (const dep of m.dependencies ?? []) {
        const typeOnly = dep.code === undefined;
        for (const target of [dep.code?.specifier, dep.type?.specifier]) {
          const to = target === undefined ? undefined : relative(target);
          if (to === undefined) continue;
          const was = edges.get(`${from} ${to}`)?.typeOnly ?? true;
          edges.set(`${from} ${to}`, { from, to, typeOnly: was && typeOnly });
        }
      }
    }
  }
  return [...edges.values()];
}

Deno.test("layout check: a circle of imports is found, however long", () => {
  const edges = [
    { from: "src/a/x.ts", to: "src/b/y.ts" },
    { from: "src/b/y.ts", to: "src/c/z.ts" },
    { from: "src/c/z.ts", to: "src/a/x.ts" },
    { from: "src/c/z.ts", to: "src/d.ts" },
    { from: "src/d.ts", to: "src/d.ts" },
  ];
  assertEquals(importCycles(edges), [
    ["src/a/x.ts", "src/b/y.ts", "src/c/z.ts"],
    ["src/d.ts"],
  ]);
  assertEquals(importCycles(edges.slice(0, 2)), []);
});

Deno.test("layout check: an import upwards, sideways or to an unplaced folder is refused", () => {
  const layers = [["src/top.ts"], ["src/a", "src/b"], ["src/low"]];
  assertEquals(
    layerViolations([
      { from: "src/top.ts", to: "src/a/x.ts" },
      { from: "src/a/x.ts", to: "src/a/y.ts" },
      { from: "src/a/x.ts", to: "src/low/z.ts" },
    ], layers),
    [],
  );
  assertEquals(
    layerViolations([
      { from: "src/low/z.ts", to: "src/a/x.ts" },
      { from: "src/a/x.ts", to: "src/b/y.ts" },
      { from: "src/a/x.ts", to: "src/new/w.ts" },
      { from: "src/a/x.ts", to: "tests/t.ts" },
    ], layers),
    [
      "src/low/z.ts → src/a/x.ts: src/low (layer 2) imports src/a, above it (layer 1)",
      "src/a/x.ts → src/b/y.ts: src/a and src/b are siblings (layer 1)",
      "src/a/x.ts → src/new/w.ts: src/new has no place in LAYERS",
      "src/a/x.ts → tests/t.ts: tests/t.ts has no place in LAYERS",
    ],
  );
});

Deno.test("the program's imports have no cycle and never reach a folder above", async () => {
  const edges = await programEdges();
  const files = programFiles();
  // Every file of the program is in the graph, so nothing escapes the check.
  const inGraph = new Set(edges.flatMap((e) => [e.from, e.to]));
  assertEquals(files.filter((f) => !inGraph.has(f)), []);
  // Every folder and top-level file has its place in the order.
  const placed = new Set(LAYERS.flat());
  assertEquals(
    [...new Set(files.map(unitOf))].filter((u) => !placed.has(u)),
    [],
  );
  assertEquals({
    cycles: importCycles(edges),
    violations: layerViolations(edges, LAYERS),
  }, { cycles: [], violations: [] });
});

Deno.test("layout check: the receiver's rooms are read from LAYERS.md's table", () => {
  const rooms = readRooms([
    "| room | may import |",
    "| --- | --- |",
    "| `low/` | nothing |",
    "| `mid/` | `low/` |",
    "| `high/` | `low/`, `mid/` (types only) |",
    "- `low/`, a list item, not a row",
  ].join("\n"));
  assertEquals(
    [...rooms].map(([room, imports]) => [room, Object.fromEntries(imports)]),
    [
      ["low", {}],
      ["mid", { low: { typesOnly: false } }],
      ["high", { low: { typesOnly: false }, mid: { typesOnly: true } }],
    ],
  );
});

Deno.test("layout check: an import across the receiver's rooms it does not allow is refused", () => {
  const rooms = readRooms(
    "| `low/` | nothing |\n| `mid/` | `low/` |\n| `high/` | `mid/` (types only) |",
  );
  const r = (path: string) => `src/receive/${path}`;
  assertEquals(
    roomViolations([
      { from: r("app.ts"), to: r("high/mod.ts") },
      { from: r("high/a.ts"), to: r("high/b.ts") },
      { from: r("high/a.ts"), to: r("mid/mod.ts"), typeOnly: true },
      { from: r("mid/a.ts"), to: r("low/mod.ts") },
      { from: "src/commands.ts", to: r("keys.ts") },
      { from: r("low/a.ts"), to: "src/net/host.ts" },
    ], rooms),
    [],
  );
  assertEquals(
    roomViolations([
      { from: r("low/a.ts"), to: r("mid/mod.ts") },
      { from: r("high/a.ts"), to: r("mid/mod.ts") },
      { from: r("high/a.ts"), to: r("low/mod.ts"), typeOnly: true },
      { from: r("mid/a.ts"), to: r("low/b.ts") },
      { from: r("app.ts"), to: r("mid/b.ts") },
      { from: r("mid/a.ts"), to: r("app.ts") },
      { from: "src/commands.ts", to: r("mid/mod.ts") },
      { from: r("new/a.ts"), to: r("low/mod.ts") },
    ], rooms),
    [
      "src/receive/low/a.ts → src/receive/mid/mod.ts: low/ may not import mid/",
      "src/receive/high/a.ts → src/receive/mid/mod.ts: high/ may import only types of mid/",
      "src/receive/high/a.ts → src/receive/low/mod.ts: high/ may not import low/",
      "src/receive/mid/a.ts → src/receive/low/b.ts: into low/ other than by its face, low/mod.ts",
      "src/receive/app.ts → src/receive/mid/b.ts: into mid/ other than by its face, mid/mod.ts",
      "src/receive/mid/a.ts → src/receive/app.ts: mid/ imports the receiver's top, above it",
      "src/commands.ts → src/receive/mid/mod.ts: enters the receiver below its top",
      "src/receive/new/a.ts → src/receive/low/mod.ts: new/ has no row in LAYERS.md",
    ],
  );
});

Deno.test("the receiver keeps to its rooms: each with a face, none importing what LAYERS.md does not allow", async () => {
  const rooms = readRooms(
    await Deno.readTextFile(new URL(`${RECEIVE}LAYERS.md`, ROOT)),
  );
  const folders: string[] = [];
  const files: string[] = [];
  for (const entry of Deno.readDirSync(new URL(RECEIVE, ROOT))) {
    (entry.isDirectory ? folders : files).push(entry.name);
  }
  assert(
    files.length <= RECEIVE_TOP_FILES,
    `${files.length} files directly in ${RECEIVE}: ${files.sort().join(", ")}`,
  );
  // Every folder is a room of the table, with its face, and every room a folder.
  assertEquals(folders.sort(), [...rooms.keys()].sort());
  for (const room of folders) {
    assert(
      Deno.statSync(new URL(`${RECEIVE}${room}/mod.ts`, ROOT)).isFile,
      `${room}/ has no face (mod.ts)`,
    );
  }
  // The table itself runs one way: its rooms stand on floors.
  const allowed = [...rooms].flatMap(([from, imports]) =>
    [...imports.keys()].map((to) => ({ from, to }))
  );
  assertEquals(importCycles(allowed), []);
  assertEquals(roomViolations(await programEdges(), rooms), []);
});

Deno.test("test-only packages (fast-check, the Prometheus text parser, the .dockerignore matcher, the TypeScript compiler) never reach the binary's module graph", async () => {
  const out = await denoCommand({
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: Array<InfoModule & { npmPackage?: string }>;
    // Every package the lock resolves, reached or not: only their
    // dependencies are read from here.
    npmPackages: Record<string, { dependencies: string[] }>;
  };
  // The packages main.ts imports (lazily loaded commands included), and
  // theirs.
  const reached = new Set<string>();
  const visit = (pkg: string) => {
    if (reached.has(pkg)) return;
    reached.add(pkg);
    for (const dep of graph.npmPackages[pkg]?.dependencies ?? []) visit(dep);
  };
  for (const m of graph.modules) if (m.npmPackage) visit(m.npmPackage);
  const names = [...reached];
  for (const used of ["commander@", "hono@", "@grpc/proto-loader@"]) {
    assert(names.some((p) => p.startsWith(used)), `${used} not reached`);
  }
  for (
    const testOnly of [
      "fast-check@",
      "parse-prometheus-text-format@",
      "@balena/dockerignore@",
      "typescript@",
    ]
  ) {
    assertEquals(
      names.filter((p) => p.startsWith(testOnly)),
      [],
      `${testOnly} is in the binary's module graph`,
    );
  }
});
