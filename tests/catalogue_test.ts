import { assert, assertEquals } from "./assert.ts";
import {
  CATALOGUE,
  filterByLevel,
  type Snapshot,
} from "../src/metrics/catalogue.ts";

const everything: Snapshot = Object.fromEntries(
  CATALOGUE.map((
    m,
  ) => [m.name, m.type === "boolean" ? true : m.type === "string" ? "x" : 1]),
);

Deno.test("the catalogue holds the 17 metrics plus the two collector properties", () => {
  assertEquals(CATALOGUE.length, 19);
  assertEquals(
    new Set(CATALOGUE.map((m) => m.name)).size,
    19,
    "names are unique",
  );
});

Deno.test("levels nest: feature ⊃ resource ⊃ cluster, collector properties always", () => {
  const at = (level: "cluster" | "resource" | "feature") =>
    Object.keys(filterByLevel(everything, level));
  const cluster = at("cluster");
  const resource = at("resource");
  const feature = at("feature");
  assert(
    cluster.includes("cluster_id") && cluster.includes("collector_version"),
  );
  assert(
    !cluster.includes("model_count"),
    "no resource metric at cluster level",
  );
  assert(
    resource.includes("model_count") && !resource.includes("gpu_enabled_count"),
  );
  assertEquals(feature.length, 19);
  for (const name of cluster) {
    assert(resource.includes(name), `${name} also at resource`);
  }
  for (const name of resource) {
    assert(feature.includes(name), `${name} also at feature`);
  }
});

Deno.test("absent metrics stay absent after filtering, never defaulted", () => {
  const out = filterByLevel(
    { cluster_id: "c", is_kubernetes: false },
    "feature",
  );
  assertEquals(out, { cluster_id: "c", is_kubernetes: false });
});
