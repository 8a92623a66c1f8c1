// One cycle of the agent: collect, build the event, deliver it to every URL.
// Shared by `hodometer run` and `hodometer collect --publish`.

import type { Config, Env } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import { filterByLevel } from "../metrics/catalogue.ts";
import type { Collection } from "../collect/collector.ts";
import type { COLLECT_KEYS } from "./keys.ts";
import { takeCollection, type TakenCollection } from "./take.ts";
import type { OpenedSources } from "../collect/open_sources.ts";
import {
  type ClusterIdentity,
  resolveClusterId,
} from "../identity/cluster_id.ts";
import { kubeClusterIdStore } from "../kube/mod.ts";
import { denialSummary, type IdDenial } from "../kube/denials.ts";
import { clusterIdPath } from "../identity/state_file.ts";
import {
  deliverAll,
  type DeliveryOptions,
  type DeliveryResult,
} from "../publish/deliver.ts";
import {
  buildEvent,
  encodeEventData,
  newInsertId,
  type TrackEvent,
} from "../publish/event.ts";

/** The settings one snapshot is taken with (COLLECT_KEYS), resolved. */
export type CollectConfig = Config<typeof COLLECT_KEYS[number]>;

/**
 * What the snapshots of one process share: the cluster id and the refusals
 * already said. Start with `{}` and pass the same object to every cycle.
 */
export interface Snapshotter {
  /** The id is resolved on the first snapshot and kept for the process. */
  identity?: ClusterIdentity;
  /** Refused requests already summarised: said once per process. */
  reportedDenials?: Set<string>;
}

/** What takeSnapshot reads with and says things to. */
export interface SnapshotOptions {
  /** The process environment (Kubernetes' variables, HOME for ~/.kube/config). */
  env: Env;
  /** Where the sources' failures, warnings and the refusals are said. */
  log: Logger;
  /** Aborts the collection (a stop signal); what was read by then is kept. */
  signal?: AbortSignal;
  /** The event's time in milliseconds since the epoch; Date.now unless a test gives its own. */
  now?: () => number;
  /**
   * False for a dry run: the cluster id is only read where it is kept, never
   * created (a temporary one when there is none). True unless said.
   */
  persistId?: boolean;
  /** The cgroup's memory limit, when there is one (heap pacing). */
  memoryLimitBytes?: number;
}

/** One collection, as the event that carries it. */
export interface EventSnapshot {
  /** The event to publish: the metrics at the level, with cluster_id. */
  event: TrackEvent;
  /** What was collected, what failed, and the heap's peak meanwhile. */
  collection: TakenCollection;
  /** The cluster id and where it came from (kept, created or temporary). */
  identity: ClusterIdentity;
}

/**
 * One cycle's snapshot: collects from every source and builds the event that
 * carries it, with the cluster id resolved on the first call (kept in
 * `state`). Failed sources leave their metrics out of the event and are
 * logged; it rejects only for a bug.
 *
 * @example
 * ```ts ignore
 * // Not run by the doc tests, which have no network: it asks the scheduler
 * // (gRPC) and, where there is one, the Kubernetes API.
 * import { resolveSettings } from "../config/resolve.ts";
 * import { logger } from "../log/setup.ts";
 * import { takeSnapshot } from "./cycle.ts";
 * import { COLLECT_KEYS } from "./keys.ts";
 *
 * const env = Deno.env.toObject();
 * const resolved = resolveSettings(COLLECT_KEYS, {
 *   env,
 *   flags: {},
 *   fileReadable: () => true, // plaintext to the scheduler: no TLS files
 * });
 * if (!resolved.ok) throw new Error(resolved.errors.join("; "));
 * const { event, collection } = await takeSnapshot(resolved.config, {}, {
 *   env,
 *   log: logger("collect"),
 *   persistId: false, // a dry run: no cluster id is created
 * });
 * console.log(event.properties.model_count, collection.failures);
 * ```
 */
export async function takeSnapshot(
  config: CollectConfig,
  state: Snapshotter,
  options: SnapshotOptions,
): Promise<EventSnapshot> {
  const { log, signal } = options;
  const identify = async (opened: OpenedSources) => {
    if (state.identity) return;
    const client = opened.kube.client;
    const namespace = config.podNamespace ?? client?.namespace;
    state.identity = await resolveClusterId({
      clusterId: config.clusterId,
      stateDir: config.stateDir,
      kubeStore: client && namespace
        ? kubeClusterIdStore(client, namespace)
        : undefined,
      namespace,
      logger: log,
      signal,
      persist: options.persistId,
    });
    log.debug("cluster id from {origin}", { origin: state.identity.origin });
  };
  const collection = await takeCollection(config, {
    env: options.env,
    log,
    signal,
    whileOpen: identify,
    memoryLimitBytes: options.memoryLimitBytes,
  });
  const identity = state.identity!;
  reportDenials(collection, identity, state, config.stateDir, log);
  const event = buildEvent({
    snapshot: filterByLevel(
      { cluster_id: identity.id, ...collection.snapshot },
      config.metricsLevel,
    ),
    clusterId: identity.id,
    token: config.token,
    timeMs: (options.now ?? Date.now)(),
    insertId: newInsertId(),
  });
  return { event, collection, identity };
}

/**
 * What access control refused, in one warning the first time it is refused;
 * the same refusals in later collections stay at debug level.
 */
function reportDenials(
  collection: Collection,
  identity: ClusterIdentity,
  state: Snapshotter,
  stateDir: string,
  log: Logger,
): void {
  const reported = state.reportedDenials ??= new Set();
  const fresh = collection.denials.filter((d) => !reported.has(d.request));
  const id: IdDenial | undefined =
    identity.denial && !reported.has(identity.denial.request)
      ? {
        denial: identity.denial,
        fallback: identity.origin === "state file"
          ? { kind: "state file", path: clusterIdPath(stateDir) }
          : { kind: "ephemeral" },
      }
      : undefined;
  if (fresh.length === 0 && id === undefined) return;
  log.warn("{summary}", { summary: denialSummary(fresh, id) });
  for (const d of [...fresh, ...(id ? [id.denial] : [])]) {
    reported.add(d.request);
  }
}

/**
 * Delivers one event to every URL; the same data (and so the same
 * `$insert_id`) on every retry, so receivers can de-duplicate.
 */
export function publishEvent(
  event: TrackEvent,
  urls: readonly string[],
  options: DeliveryOptions,
): Promise<DeliveryResult[]> {
  return deliverAll(urls, encodeEventData(event), options);
}
