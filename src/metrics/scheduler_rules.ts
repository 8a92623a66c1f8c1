// The counting rules for the scheduler's streams (the reference collector's,
// worked examples in tests/scheduler_rules_test.ts), as tallies that take one
// message at a time: memory stays flat however large the cluster.

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

/** Servers with expected or available replicas > 0, and their replica resources. */
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

export class ModelTally {
  #models = 0;

  add(model: { deleted: boolean }): void {
    if (!model.deleted) this.#models++;
  }

  snapshot(): Snapshot {
    return { model_count: this.#models };
  }
}

/** PipelineVersionState.PipelineStatus values that mean "exists and is wanted". */
const LIVE_PIPELINE_STATES: ReadonlySet<number> = new Set([
  1, // PipelineCreate
  2, // PipelineCreating
  3, // PipelineReady
]);

export interface PipelineStatus {
  versions: readonly { state?: { status: number } | undefined }[];
}

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

export class ExperimentTally {
  #experiments = 0;

  add(experiment: { active: boolean }): void {
    if (experiment.active) this.#experiments++;
  }

  snapshot(): Snapshot {
    return { experiment_count: this.#experiments };
  }
}
