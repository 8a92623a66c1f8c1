// The counting rules for the scheduler's streams, Go hodometer's own
// (hodometer/pkg/hodometer/collect.go at SeldonIO/seldon-core 7b77f8b; lines
// cited per tally; worked examples in tests/scheduler_rules_test.ts), as
// tallies that take one message at a time: memory stays flat however large
// the cluster. What each request asks is in collect/scheduler_sources.ts.

import type { Snapshot } from "./catalogue.ts";

export interface ReplicaResources {
  totalMemoryBytes: number;
  numLoadedModels: number;
  overCommitPercentage: number;
}

export interface ServerStatus {
  expectedReplicas: number;
  availableReplicas: number;
  resources: readonly ReplicaResources[];
}

/**
 * Servers with expected or available replicas > 0, and their replica
 * resources: Go's updateServerMetrics (collect.go:398-419), line for line.
 */
export class SchedulerServerTally {
  #servers = 0;
  #replicas = 0;
  #multimodel = 0;
  #overcommit = 0;
  #memoryBytes = 0;

  add(server: ServerStatus): void {
    const { expectedReplicas: expected, availableReplicas: available } = server;
    if (!(expected > 0 || available > 0)) return;
    this.#servers++;
    this.#replicas += expected > 0 ? expected : available;
    for (const r of server.resources) {
      this.#memoryBytes += r.totalMemoryBytes;
      if (r.overCommitPercentage > 0) {
        this.#multimodel++;
        this.#overcommit++;
      } else if (r.numLoadedModels > 1) {
        this.#multimodel++;
      }
    }
  }

  /** Memory is in decimal GB, as the reference computes it (its docs say GiB). */
  snapshot(): Snapshot {
    return {
      server_count: this.#servers,
      server_replica_count: this.#replicas,
      multimodel_enabled_count: this.#multimodel,
      overcommit_enabled_count: this.#overcommit,
      server_memory_gb_sum: this.#memoryBytes / 1e9,
    };
  }
}

/** Models whose `deleted` is false (collect.go:445-447). */
export class ModelTally {
  #models = 0;

  add(model: { deleted: boolean }): void {
    if (!model.deleted) this.#models++;
  }

  snapshot(): Snapshot {
    return { model_count: this.#models };
  }
}

/**
 * PipelineVersionState.PipelineStatus values that mean "exists and is
 * wanted" (collect.go:361-363).
 */
const LIVE_PIPELINE_STATES: ReadonlySet<number> = new Set([
  1, // PipelineCreate
  2, // PipelineCreating
  3, // PipelineReady
]);

export interface PipelineStatus {
  versions: readonly { state?: { status: number } | undefined }[];
}

/**
 * Pipelines with a version in LIVE_PIPELINE_STATES among those the scheduler
 * sent; a version without a state is skipped: Go's isPipelineActive
 * (collect.go:350-368). Asked with allVersions false (collect.go:317-321),
 * the scheduler sends the latest version only, so a pipeline whose new
 * version failed while an older one still runs is not counted.
 */
export class PipelineTally {
  #pipelines = 0;

  add(pipeline: PipelineStatus): void {
    const live = pipeline.versions.some((v) =>
      v.state !== undefined && LIVE_PIPELINE_STATES.has(v.state.status)
    );
    if (live) this.#pipelines++;
  }

  snapshot(): Snapshot {
    return { pipeline_count: this.#pipelines };
  }
}

/** Experiments whose `active` is true (collect.go:308-310). */
export class ExperimentTally {
  #experiments = 0;

  add(experiment: { active: boolean }): void {
    if (experiment.active) this.#experiments++;
  }

  snapshot(): Snapshot {
    return { experiment_count: this.#experiments };
  }
}
