// Fleet facts and the clusters list as pure functions over snapshots: versions
// and who is behind, feature shares of the clusters that reported them, size
// distributions, silent clusters, the window; the list's query parameters
// (parsed, refused with a reason, written back), filters, order and pages.

import { assert, assertEquals, assertMatch, leading, nth } from "./assert.ts";
import type { ClusterSnapshot } from "../src/receive/store/mod.ts";
import type { SnapshotValue } from "../src/receive/event/mod.ts";
import { DAY_MS, HOUR_MS } from "../src/runtime/units.ts";
import {
  compareVersions,
  fleetFacts,
  isBehind,
  majorMinor,
  newestMajorMinor,
  serverNames,
  SILENT_AFTER_MS,
  spread,
} from "../src/receive/views/fleet.ts";
import {
  DEFAULT_VIEW,
  listClusters,
  type ListView,
  parseView,
  viewQuery,
} from "../src/receive/views/cluster_list.ts";

const NOW = Date.UTC(2026, 10, 27, 12);

function snap(
  id: string,
  agoMs: number,
  values: Record<string, SnapshotValue>,
): ClusterSnapshot {
  return {
    distinctId: id,
    lastSeenMs: NOW - agoMs,
    eventTime: null,
    values: new Map(Object.entries(values)),
    bytes: 0,
  };
}

/** Six clusters: a to d recent, e silent for two days, f a month and a half ago. */
const FLEET = [
  snap("a", HOUR_MS, {
    seldon_core_version: "2.9.1",
    kubernetes_version: "v1.31.0",
    collector_version: "1.1.0",
    is_kubernetes: true,
    is_global_installation: true,
    gpu_enabled_count: 2,
    multimodel_enabled_count: 3,
    overcommit_enabled_count: 0,
    inference_server_name: "MLServer,Triton",
    model_count: 100,
    server_memory_gb_sum: 12.5,
  }),
  snap("b", 2 * HOUR_MS, {
    seldon_core_version: "2.8.0",
    kubernetes_version: "v1.29.4",
    collector_version: "1.0.0",
    is_kubernetes: true,
    is_global_installation: false,
    gpu_enabled_count: 0,
    multimodel_enabled_count: 0,
    overcommit_enabled_count: 1,
    inference_server_name: "MLServer,MLServer",
    model_count: 10,
  }),
  snap("c", 3 * HOUR_MS, {
    seldon_core_version: "2.10.0",
    collector_version: "1.1.0",
    is_kubernetes: false,
    model_count: 1,
  }),
  snap("d", 5 * DAY_MS, {
    seldon_core_version: "<b>2.7</b>",
    collector_version: "1.1.0",
    model_count: 1000,
  }),
  snap("e", 2 * DAY_MS, {
    seldon_core_version: "2.9.1",
    is_kubernetes: true,
    model_count: 50,
  }),
  snap("f", 45 * DAY_MS, {
    seldon_core_version: "2.5.0",
    model_count: 7,
  }),
];

const facts = (windowMs: number | null = 30 * DAY_MS) =>
  fleetFacts(FLEET, { now: NOW, windowMs, silentAfterMs: SILENT_AFTER_MS });

Deno.test("versions: major.minor read where there is one, ordered by number", () => {
  assertEquals(majorMinor("2.9.1"), [2, 9]);
  assertEquals(majorMinor("v1.31.3-eks"), [1, 31]);
  assertEquals(majorMinor(" 2.10"), [2, 10]);
  for (const none of ["<b>2.7</b>", "v3", "", "latest", "1.2345678.0"]) {
    assertEquals(majorMinor(none), null, none);
  }
  assert(compareVersions("2.10.0", "2.9.9") > 0, "2.10 after 2.9");
  assert(compareVersions("v1.31.0", "v1.31.0-eks") < 0);
  assertEquals(compareVersions("2.9.1", "2.9.1"), 0);
  assertEquals(newestMajorMinor(["2.9.1", "2.10.0", "v3", "x"]), "2.10");
  assertEquals(newestMajorMinor(["x"]), null);
  assert(isBehind("2.8.5", "2.9"));
  assert(isBehind("1.9.0", "2.0"));
  assert(!isBehind("2.9.0", "2.9"));
  assert(!isBehind("<b>2.7</b>", "2.9"), "unreadable is not called behind");
  assert(!isBehind("2.8.0", null));
  assertEquals(serverNames("MLServer, Triton,,MLServer"), [
    "MLServer",
    "Triton",
  ]);
  assertEquals(serverNames(3), []);
});

Deno.test("fleet facts: the window, active counts, versions and who is behind", () => {
  const f = facts();
  assertEquals([f.known, f.considered], [6, 5]);
  assertEquals(f.active.map((a) => [a.label, a.count]), [
    ["last day", 3],
    ["last 7 days", 5],
    ["last 30 days", 5],
  ]);
  const [seldon, kubernetes, collector] = leading(f.versions, 3);
  assertEquals(seldon.counts, [
    { label: "2.9.1", count: 2 },
    { label: "2.10.0", count: 1 },
    { label: "2.8.0", count: 1 },
    { label: "<b>2.7</b>", count: 1 },
  ]);
  assertEquals([seldon.reporting, seldon.newest, seldon.behind], [
    5,
    "2.10",
    3,
  ]);
  // Not reported is counted, as "".
  assertEquals(nth(kubernetes.counts, 0), { label: "", count: 3 });
  assertEquals([kubernetes.reporting, kubernetes.newest, kubernetes.behind], [
    2,
    "1.31",
    1,
  ]);
  assertEquals([collector.newest, collector.behind], ["1.1", 1]);
  // Every known cluster, f included.
  const everything = facts(null);
  assertEquals(everything.considered, 6);
  assertEquals(nth(everything.versions, 0).behind, 4);
});

Deno.test("fleet facts: feature shares of the clusters that reported each, inference servers once per cluster", () => {
  const f = facts();
  const feature = (key: string) => {
    const x = f.features.find((x) => x.key === key)!;
    return [x.count, x.of];
  };
  assertEquals(feature("gpu"), [1, 2]);
  assertEquals(feature("multimodel"), [1, 2]);
  assertEquals(feature("overcommit"), [1, 2]);
  assertEquals(feature("global"), [1, 2]);
  assertEquals(feature("kubernetes"), [3, 4]);
  assertEquals(f.servers, [
    { label: "MLServer", count: 2 },
    { label: "Triton", count: 1 },
  ]);
  assertEquals(f.serversReporting, 2);

  // As many names as clusters sent, most used first (the chart adds up the tail).
  const many = Array.from({ length: 20 }, (_, i) =>
    snap(`s${i}`, HOUR_MS, {
      inference_server_name: i < 5 ? "Triton,MLServer" : `name${i}`,
    }));
  const servers = fleetFacts(many, {
    now: NOW,
    windowMs: null,
    silentAfterMs: SILENT_AFTER_MS,
  }).servers;
  assertEquals(servers.length, 17);
  assertEquals(servers.slice(0, 2), [
    { label: "Triton", count: 5 },
    { label: "MLServer", count: 5 },
  ]);
});

Deno.test("fleet facts: sizes of the clusters that reported them, and the silent ones", () => {
  const f = facts();
  const models = f.sizes.find((s) => s.metric === "model_count")!;
  assertEquals(models.values, [1, 10, 50, 100, 1000]);
  assertEquals(models.total, 1161);
  assertEquals(spread(models.values), {
    q1: 10,
    median: 50,
    q3: 100,
    max: 1000,
  });
  const memory = f.sizes.find((s) => s.metric === "server_memory_gb_sum")!;
  assertEquals([memory.values, memory.unit], [[12.5], "GB"]);
  assertEquals(spread([]), null);
  // Silent: heard from in the window, not in 16 h; most recently heard first.
  assertEquals(f.silent.map((s) => s.distinctId), ["e", "d"]);
  const later = fleetFacts(FLEET, {
    now: NOW,
    windowMs: 30 * DAY_MS,
    silentAfterMs: 3 * DAY_MS,
  });
  assertEquals(later.silent.map((s) => s.distinctId), ["d"]);
});

Deno.test("list view: defaults, every parameter read, and written back the same", () => {
  assertEquals(parseView(""), { ok: true, view: DEFAULT_VIEW });
  const parsed = parseView(
    "sort=model_count&order=asc&seldon_core_version=2.9.1&kubernetes_version=v1.31.0" +
      "&behind=collector_version&seen=7d&silent_after=1d&feature=gpu&server=Triton" +
      "&metric=model_count&min=5&max=2.5e0&page=3&per=20&window=all",
  );
  assert(!parsed.ok, "2.5e0 is not a plain number");
  const ok = parseView(
    "sort=model_count&order=asc&seldon_core_version=2.9.1&kubernetes_version=v1.31.0" +
      "&behind=collector_version&seen=7d&silent_after=1d&feature=gpu&server=Triton" +
      "&metric=model_count&min=5&max=2.5&page=3&per=20&window=all",
  );
  assert(ok.ok);
  const view = ok.view;
  assertEquals(view, {
    sort: "model_count",
    order: "asc",
    versions: { seldon_core_version: "2.9.1", kubernetes_version: "v1.31.0" },
    behind: "collector_version",
    seen: 7 * DAY_MS,
    silentAfterMs: DAY_MS,
    feature: "gpu",
    server: "Triton",
    metric: { name: "model_count", min: 5, max: 2.5 },
    page: 3,
    per: 20,
    windowMs: null,
  });
  const again = parseView(viewQuery(view).slice(1));
  assertEquals(again, { ok: true, view });
  assertEquals(viewQuery(DEFAULT_VIEW), "");
  assertEquals(viewQuery(DEFAULT_VIEW, { seen: "silent" }), "?seen=silent");
  // Empty form fields mean "any".
  assertEquals(parseView("seldon_core_version=&seen=&metric=&min=&page="), {
    ok: true,
    view: DEFAULT_VIEW,
  });
});

Deno.test("list view: each bad parameter is named with what is accepted", () => {
  const bad = parseView(
    "sort=nope&order=up&seen=soon&page=0&per=5000&min=ten&window=-1d&feature=x&%3Cb%3E=1",
  );
  assert(!bad.ok);
  const text = bad.problems.join("\n");
  for (
    const expected of [
      /sort="nope": expected one of last_seen, cluster, seldon_core_version/,
      /order="up": expected one of asc, desc/,
      /seen="soon": expected silent or any or a duration from 1m to 36500d/,
      /page="0": expected a whole number from 1 to 1000000/,
      /per="5000": expected a whole number from 1 to 200/,
      /min="ten": expected a number/,
      /window="-1d": expected all or a duration/,
      /feature="x": expected one of multimodel, overcommit, gpu/,
      /unknown parameter "<b>": the page reads sort, order/,
    ]
  ) assertMatch(text, expected);
  assertEquals(bad.problems.length, 9);
  const minAlone = parseView("min=3");
  assert(!minAlone.ok);
  assertEquals(minAlone.problems, [
    "min and max need metric=<a size metric> to apply to",
  ]);
  // A long value is clipped where it is echoed.
  const long = parseView(`sort=${"x".repeat(5000)}`);
  assert(!long.ok && nth(long.problems, 0).length < 300, "clipped");
});

const view = (q: string): ListView => {
  const parsed = parseView(q);
  if (!parsed.ok) throw new Error(parsed.problems.join("; "));
  return parsed.view;
};
const ids = (q: string) =>
  listClusters(FLEET, view(q), NOW).rows.map((s) => s.distinctId);

Deno.test("clusters list: filters", () => {
  assertEquals(ids(""), ["a", "b", "c", "e", "d", "f"], "last seen first");
  assertEquals(ids("seldon_core_version=2.9.1"), ["a", "e"]);
  assertEquals(ids("seldon_core_version=%3Cb%3E2.7%3C%2Fb%3E"), ["d"]);
  // Behind 2.10, the newest known; "<b>2.7</b>" cannot be read, so is not.
  assertEquals(ids("behind=seldon_core_version"), ["a", "b", "e", "f"]);
  assertEquals(ids("seen=1d"), ["a", "b", "c"]);
  assertEquals(ids("seen=silent"), ["e", "d", "f"]);
  assertEquals(ids("seen=silent&silent_after=3d"), ["d", "f"]);
  assertEquals(ids("feature=gpu"), ["a"]);
  assertEquals(ids("feature=kubernetes"), ["a", "b", "e"]);
  assertEquals(ids("server=MLServer"), ["a", "b"]);
  assertEquals(ids("server=Triton"), ["a"]);
  assertEquals(ids("metric=model_count&min=10&max=100"), ["a", "b", "e"]);
  assertEquals(ids("metric=server_memory_gb_sum"), ["a"], "reporting ones");
  assertEquals(ids("seldon_core_version=9.9.9"), []);
});

Deno.test("clusters list: order by number or version, missing values last either way, pages", () => {
  FLEET.push(snap("g", HOUR_MS / 2, {}));
  try {
    assertEquals(ids("sort=model_count"), ["d", "a", "e", "b", "f", "c", "g"]);
    assertEquals(ids("sort=model_count&order=asc"), [
      "c",
      "f",
      "b",
      "e",
      "a",
      "d",
      "g",
    ]);
    // By the numbers in the text: "<b>2.7</b>" reads as 2.7.
    assertEquals(ids("sort=seldon_core_version&order=asc"), [
      "f",
      "d",
      "b",
      "a",
      "e",
      "c",
      "g",
    ]);
    assertEquals(ids("sort=cluster&order=asc"), [
      "a",
      "b",
      "c",
      "d",
      "e",
      "f",
      "g",
    ]);
    const page2 = listClusters(
      FLEET,
      view("sort=cluster&order=asc&per=3&page=2"),
      NOW,
    );
    assertEquals(
      [
        page2.rows.map((s) => s.distinctId),
        page2.matching,
        page2.page,
        page2.pages,
      ],
      [["d", "e", "f"], 7, 2, 3],
    );
    // Past the last page: the last page.
    const beyond = listClusters(FLEET, view("per=3&page=99"), NOW);
    assertEquals([beyond.page, beyond.rows.length], [3, 1]);
    const none = listClusters(FLEET, view("server=none&page=4"), NOW);
    assertEquals([none.rows, none.matching, none.page, none.pages], [
      [],
      0,
      1,
      1,
    ]);
  } finally {
    FLEET.pop();
  }
});
