// What access control costs, in one line: the refused requests, what they
// cost, the kind of cluster id instead of the ConfigMap, what to apply.

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { denialSummary } from "../src/kube/denials.ts";
import type { Denial } from "../src/collect/source.ts";

const nodes: Denial = {
  request: "list nodes (cluster-wide)",
  grantIn: "ClusterRole",
  cost: "node_count omitted",
  message: "kubernetes: forbidden to list nodes (cluster-wide): …",
};
const servers: Denial = {
  request: "list servers.mlops.seldon.io (in namespace ns)",
  grantIn: "Role",
  cost:
    "gpu_enabled_count, inference_server_name and server_cpu_cores_sum omitted",
  message: "…",
};
const configMap: Denial = {
  request: 'get configmaps "hodometer" (in namespace ns)',
  grantIn: "Role",
  cost: "falling back to the state file",
  message: "…",
};

Deno.test("summary: requests, costs, the state file instead of the ConfigMap, both manifests", () => {
  const line = denialSummary([nodes, servers, nodes], {
    denial: configMap,
    fallback: { kind: "state file", path: "/var/lib/hodometer/cluster_id" },
  });
  assertEquals(
    line,
    'kubernetes: this service account may not list nodes (cluster-wide), list servers.mlops.seldon.io (in namespace ns), get configmaps "hodometer" (in namespace ns). ' +
      "So: node_count omitted; gpu_enabled_count, inference_server_name and server_cpu_cores_sum omitted; " +
      "the cluster id is kept in the state file /var/lib/hodometer/cluster_id instead of ConfigMap hodometer (a new pod starts with a new id unless STATE_DIR is a volume that outlives it). " +
      "To get them, apply deploy/kubernetes/role.yaml and deploy/kubernetes/cluster-access.yaml (they grant service account hodometer, the stock chart's name too; set the namespace). " +
      "Said once; later collections log it at debug level.",
  );
});

Deno.test("summary: an ephemeral id says cluster counts inflate; only the manifest that grants what is missing", () => {
  const line = denialSummary([], {
    denial: configMap,
    fallback: { kind: "ephemeral" },
  });
  assertStringIncludes(line, "new at every start");
  assertStringIncludes(line, "cluster counts inflate");
  assertStringIncludes(line, "apply deploy/kubernetes/role.yaml (");
  assertEquals(line.includes("cluster-access"), false);
  const clusterOnly = denialSummary([nodes]);
  assertStringIncludes(
    clusterOnly,
    "apply deploy/kubernetes/cluster-access.yaml (",
  );
  assertEquals(clusterOnly.includes("role.yaml"), false);
  assertEquals(clusterOnly.includes("cluster id"), false);
});
