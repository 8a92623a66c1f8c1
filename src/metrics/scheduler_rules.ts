// The counting rules for the scheduler's streams, Go hodometer's own
// (hodometer/pkg/hodometer/collect.go at SeldonIO/seldon-core 7b77f8b; lines
// cited per tally; worked examples in tests/scheduler_rules_test.ts), as
// tallies that take one message at a time: memory stays flat however large
// the cluster. What each request asks is in collect/scheduler_sources.ts.

import type { Snapshot } from "./catalogue.ts";

/** One replica's entry of a ServerStatus message: what the tally reads of it. */
export interface ReplicaResources {
  /** Memory of the replica; summed into server_memory_gb_sum. */
  totalMemoryBytes: number;
  /** Models loaded on it; more than one counts as multi-model. */
  numLoadedModels: number;
  /** Above 0: overcommit is on (and it counts as multi-model too). */
  overCommitPercentage: number;
}

/** A ServerStatus message of the scheduler: what the tally reads of it. */
export interface ServerStatus {
  /** Replicas the server should have. */
  expectedReplicas: number;
  /** Replicas ready, draining ones left out by the scheduler. */
  availableReplicas: number;
  /** One entry per replica. */
  resources: readonly ReplicaResources[];
}

/**
 * Servers with expected or available replicas > 0, and their replica
 * resources: Go's updateServerMetrics (collect.go:398-419), line for line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchedulerServerTally } from "./scheduler_rules.ts";
 *
 * const tally = new SchedulerServerTally();
 * tally.add({
 *   expectedReplicas: 2,
 *   availableReplicas: 1,
 *   resources: [
 *     { totalMemoryBytes: 2e9, numLoadedModels: 3, overCommitPercentage: 0 },
 *     { totalMemoryBytes: 2e9, numLoadedModels: 1, overCommitPercentage: 10 },
 *   ],
 * });
 * tally.add({ expectedReplicas: 0, availableReplicas: 0, resources: [] });
 * assert.deepEqual(tally.snapshot(), {
 *   server_count: 1,
 *   server_replica_count: 2,
 *   multimodel_enabled_count: 2,
 *   overcommit_enabled_count: 1,
 *   server_memory_gb_sum: 4,
 * });
 * ```
 */
export class SchedulerServerTally {
  #servers = 0;
  #replicas = 0;
  #multimodel = 0;
  #overcommit = 0;
  #memoryBytes = 0;

  /** Counts one server (one message of the scheduler's stream). */
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

  /**
   * The server metrics of the servers added so far. Memory is in decimal GB,
   * as the reference computes it (its docs say GiB).
   */
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

  /** Counts one model (one message of the scheduler's stream). */
  add(model: { deleted: boolean }): void {
    if (!model.deleted) this.#models++;
  }

  /** model_count of the models added so far. */
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

/** A PipelineStatus message of the scheduler: what the tally reads of it. */
export interface PipelineStatus {
  /** The versions sent, each with its PipelineVersionState status, if any. */
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

  /** Counts one pipeline (one message of the scheduler's stream). */
  add(pipeline: PipelineStatus): void {
    const live = pipeline.versions.some((v) =>
      v.state !== undefined && LIVE_PIPELINE_STATES.has(v.state.status)
    );
    if (live) this.#pipelines++;
  }

  /** pipeline_count of the pipelines added so far. */
  snapshot(): Snapshot {
    return { pipeline_count: this.#pipelines };
  }
}

/** Experiments whose `active` is true (collect.go:308-310). */
export class ExperimentTally {
  #experiments = 0;

  /** Counts one experiment (one message of the scheduler's stream). */
  add(experiment: { active: boolean }): void {
    if (experiment.active) this.#experiments++;
  }

  /** experiment_count of the experiments added so far. */
  snapshot(): Snapshot {
    return { experiment_count: this.#experiments };
  }
}
