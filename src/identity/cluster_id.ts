// Which cluster id this agent reports as: random but stable, so a restart is
// not counted as a new cluster. CLUSTER_ID when given; else the id persisted
// in the Kubernetes ConfigMap (inside a cluster); else the id persisted in the
// state file; else, only when nothing can be persisted, an ephemeral one with
// a warning. Always random, never derived from anything identifying (host
// names, IPs, UIDs). A dry run reads what is kept and keeps nothing: without a
// kept id it gets a temporary one.

import { isUuid } from "../config/parsers.ts";
import { errorMessage } from "../runtime/error_message.ts";
import {
  CLUSTER_ID_CONFIGMAP,
  type ClusterIdStore,
  getOrCreateClusterId,
} from "../kube/cluster_id.ts";
import {
  clusterIdPath,
  loadOrCreateStateFileId,
  readStateFileId,
} from "./state_file.ts";
import type { DeniableError } from "../kube/client.ts";
import type { Denial } from "../metrics/source.ts";

/**
 * Where the id came from: given, kept in the ConfigMap or the state file,
 * new for this process only (nothing could keep it), or a dry run's.
 */
export type ClusterIdOrigin =
  | "CLUSTER_ID"
  | "configmap"
  | "state file"
  | "ephemeral"
  | "temporary";

/** The cluster id this agent reports as, and where it came from. */
export interface ClusterIdentity {
  /** A UUID, lower-case. */
  id: string;
  /** Where it came from. */
  origin: ClusterIdOrigin;
  /** For a temporary id: where a run would keep one. */
  wouldKeepIn?: string;
  /** Access control refused the ConfigMap (the caller says so, once). */
  denial?: Denial;
}

/** What resolution logs through; a LogTape Logger fits. */
export interface IdentityLog {
  /** What was read or stored, and an access-control refusal (said once by the caller). */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** An id that cannot be used or kept, and what that costs. */
  warn(message: string, properties?: Record<string, unknown>): void;
}

/** What resolving the cluster id needs. */
export interface ResolveClusterIdOptions {
  /** CLUSTER_ID, already validated as a UUID by the settings. */
  clusterId?: string;
  /** STATE_DIR: where the state file keeps the id off Kubernetes. */
  stateDir: string;
  /** The ConfigMap store, when running with Kubernetes access. */
  kubeStore?: ClusterIdStore;
  /** Where problems and what was stored are said. */
  logger: IdentityLog;
  /** A fresh random UUID; crypto.randomUUID unless a test fixes it. */
  newId?: () => string;
  /** Stops the Kubernetes requests. */
  signal?: AbortSignal;
  /**
   * False for a dry run: a kept id is read, nothing is created or repaired,
   * and without one the id is temporary. True unless said.
   */
  persist?: boolean;
  /** The ConfigMap's namespace, to say where a run would keep the id. */
  namespace?: string;
}

/**
 * The cluster id to report: CLUSTER_ID, else the kept one (ConfigMap, then
 * state file), else a new one kept for next time. Never fails: when nothing
 * can keep an id, a new one serves this process with a warning.
 *
 * @example
 * ```ts ignore
 * import { resolveClusterId } from "./cluster_id.ts";
 * import { logger } from "../log/setup.ts";
 *
 * const identity = await resolveClusterId({
 *   stateDir: `${Deno.env.get("HOME")}/.local/state/hodometer`,
 *   logger: logger("identity"),
 * });
 * console.log(identity.id, identity.origin); // e.g. "6f1c…", "state file"
 * ```
 */
export async function resolveClusterId(
  options: ResolveClusterIdOptions,
): Promise<ClusterIdentity> {
  const { logger: log, stateDir } = options;
  const newId = options.newId ?? (() => crypto.randomUUID());

  if (options.clusterId !== undefined) {
    if (isUuid(options.clusterId)) {
      return {
        id: options.clusterId.trim().toLowerCase(),
        origin: "CLUSTER_ID",
      };
    }
    log.warn("CLUSTER_ID {value} is not a UUID; ignoring it", {
      value: options.clusterId,
    });
  }

  if (options.persist === false) return await readKeptId(options, newId);

  let denial: Denial | undefined;
  if (options.kubeStore) {
    let found: string | DeniableError;
    try {
      found = await getOrCreateClusterId(
        options.kubeStore,
        newId,
        options.signal,
      );
    } catch (err) {
      found = new Error(
        `kubernetes: cluster id ConfigMap unusable (${
          errorMessage(err)
        }): falling back to the state file`,
      );
    }
    if (!(found instanceof Error)) return { id: found, origin: "configmap" };
    denial = found.denial;
    // A refusal by access control is summarised by the caller, once.
    if (denial) log.debug("{problem}", { problem: found.message });
    else log.warn("{problem}", { problem: found.message });
  }
  const withDenial = (identity: ClusterIdentity): ClusterIdentity =>
    denial ? { ...identity, denial } : identity;

  const stored = await loadOrCreateStateFileId({
    stateDir,
    newId,
    warn: (message) => log.warn("{problem}", { problem: message }),
  });
  if (!(stored instanceof Error)) {
    if (stored.created) {
      log.debug("new cluster id stored in {path}", {
        path: clusterIdPath(stateDir),
      });
    }
    return withDenial({ id: stored.id, origin: "state file" });
  }

  log.warn(
    "cannot persist the cluster id ({problem}); using a new one for this run only, so every restart reports as a new cluster and cluster counts inflate. Set STATE_DIR (--state-dir) to a writable directory, or CLUSTER_ID to a fixed UUID",
    { problem: stored.message },
  );
  return withDenial({ id: newId().trim().toLowerCase(), origin: "ephemeral" });
}

/** The dry run's id: one already kept, else a temporary one. */
async function readKeptId(
  options: ResolveClusterIdOptions,
  newId: () => string,
): Promise<ClusterIdentity> {
  const { logger: log, stateDir } = options;
  if (options.kubeStore) {
    let found: string | undefined | Error;
    try {
      found = await options.kubeStore.load(options.signal);
    } catch (err) {
      found = new Error(errorMessage(err));
    }
    if (typeof found === "string") return { id: found, origin: "configmap" };
    if (found instanceof Error) {
      log.debug("cluster id ConfigMap not read: {problem}", {
        problem: found.message,
      });
    }
  }
  const stored = await readStateFileId(stateDir);
  if (typeof stored === "string") return { id: stored, origin: "state file" };
  if (stored instanceof Error) {
    log.debug("cluster id state file not read: {problem}", {
      problem: stored.message,
    });
  }
  const file = clusterIdPath(stateDir);
  return {
    id: newId().trim().toLowerCase(),
    origin: "temporary",
    wouldKeepIn: options.kubeStore
      ? `ConfigMap ${CLUSTER_ID_CONFIGMAP}${
        options.namespace ? ` in namespace ${options.namespace}` : ""
      } (else ${file})`
      : file,
  };
}
