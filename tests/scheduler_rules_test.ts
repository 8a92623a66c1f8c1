// The scheduler counting rules, with every worked example of the reference
// collector's own tests.

import { assertEquals } from "./assert.ts";
import {
  ExperimentTally,
  ModelTally,
  PipelineTally,
  type ReplicaResources,
  SchedulerServerTally,
} from "../src/metrics/scheduler_rules.ts";
import { pipeline, pipelineAnswer } from "./fixtures/scheduler_double.ts";

const resources = (
  ...rs: Partial<ReplicaResources>[]
): ReplicaResources[] =>
  rs.map((r) => ({
    totalMemoryBytes: 0,
    numLoadedModels: 0,
    overCommitPercentage: 0,
    ...r,
  }));

const servers = (
  ...list: [expected: number, available: number, rs?: ReplicaResources[]][]
) => {
  const t = new SchedulerServerTally();
  for (const [expected, available, rs] of list) {
    t.add({
      expectedReplicas: expected,
      availableReplicas: available,
      resources: rs ?? [],
    });
  }
  return t.snapshot();
};

Deno.test("servers: counted when expected or available > 0; replicas prefer expected", () => {
  const cases: [[number, number][], number, number][] = [
    [[[5, 0]], 1, 5],
    [[[-1, 5]], 1, 5],
    [[[3, 1]], 1, 3],
    [[[1, 0], [-1, 1]], 2, 2],
    [[[0, 0], [-1, 0]], 0, 0],
  ];
  for (const [list, count, replicas] of cases) {
    const s = servers(...list);
    assertEquals(
      [s.server_count, s.server_replica_count],
      [count, replicas],
      JSON.stringify(list),
    );
  }
});

Deno.test("servers: multimodel and overcommit per replica resource entry", () => {
  const cases: [Partial<ReplicaResources>, number, number][] = [
    [{ overCommitPercentage: 20 }, 1, 1],
    [{ overCommitPercentage: 20, numLoadedModels: 1 }, 1, 1],
    [{ numLoadedModels: 10 }, 1, 0],
    [{ numLoadedModels: 1 }, 0, 0],
  ];
  for (const [r, multimodel, overcommit] of cases) {
    const s = servers([1, 1, resources(r)]);
    assertEquals(
      [s.multimodel_enabled_count, s.overcommit_enabled_count],
      [multimodel, overcommit],
      JSON.stringify(r),
    );
  }
});

Deno.test("servers: memory sums totalMemoryBytes of counted servers, in GB", () => {
  const twoServers = servers(
    [1, 1, resources({ totalMemoryBytes: 1 })],
    [1, 1, resources({ totalMemoryBytes: 2 })],
  );
  assertEquals(twoServers.server_memory_gb_sum, 3 / 1e9);
  const notCounted = servers(
    [1, 1, resources({ totalMemoryBytes: 4e9 }, { totalMemoryBytes: 1e9 })],
    [0, 0, resources({ totalMemoryBytes: 7e9, overCommitPercentage: 50 })],
  );
  assertEquals(notCounted.server_memory_gb_sum, 5);
  assertEquals(notCounted.overcommit_enabled_count, 0);
});

Deno.test("pipelines: live when a version is in Create, Creating or Ready", () => {
  const count = (...pipelines: number[][]) => {
    const t = new PipelineTally();
    for (const statuses of pipelines) {
      t.add({ versions: statuses.map((status) => ({ state: { status } })) });
    }
    return t.snapshot().pipeline_count;
  };
  assertEquals(count([1], [2], [3]), 3);
  assertEquals(count([0], [4], [5], [6], [7]), 0);
  assertEquals(count([7, 3], [4, 5, 1], []), 2);
  const t = new PipelineTally();
  t.add({ versions: [{ state: undefined }] });
  assertEquals(t.snapshot().pipeline_count, 0);
});

Deno.test("pipelines: Go's count, from what the scheduler sends with allVersions false", () => {
  // Each pipeline's versions oldest first, as a scenario lists them; the
  // scheduler sends the latest only (pipelineAnswer), and the tally counts
  // what it is sent.
  const [CREATING, READY, FAILED, TERMINATING] = [2, 3, 4, 6];
  const count = (allVersions: boolean, ...pipelines: number[][]) => {
    const t = new PipelineTally();
    for (const [i, statuses] of pipelines.entries()) {
      t.add(pipelineAnswer(pipeline(`p${i}`, ...statuses), allVersions));
    }
    return t.snapshot().pipeline_count;
  };
  // SPEC §3: latest failed while an older one is Ready → not counted.
  assertEquals(count(false, [READY, FAILED]), 0);
  // Latest Ready, older Failed → counted.
  assertEquals(count(false, [FAILED, READY]), 1);
  // A new version on its way, the old one Ready → counted once.
  assertEquals(count(false, [READY, CREATING]), 1);
  // Being deleted (latest Terminating) → not counted.
  assertEquals(count(false, [READY, TERMINATING]), 0);
  assertEquals(
    count(false, [READY, FAILED], [FAILED, READY], [READY], [TERMINATING]),
    2,
  );
  // Asked for every version, the same rule would count what Go does not.
  assertEquals(count(true, [READY, FAILED], [READY, TERMINATING]), 2);
});

Deno.test("models not deleted and active experiments are counted", () => {
  const models = new ModelTally();
  for (const deleted of [false, true, false, false]) models.add({ deleted });
  assertEquals(models.snapshot(), { model_count: 3 });
  const experiments = new ExperimentTally();
  for (const active of [true, false, true]) experiments.add({ active });
  assertEquals(experiments.snapshot(), { experiment_count: 2 });
});
