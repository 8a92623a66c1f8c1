// The cluster identifier inside Kubernetes: ConfigMap `hodometer`, key
// `cluster_id`, in the pod's namespace. Read it, else create it; when another
// replica created it first (409), read the winner's. Every failure is an Error
// value so the caller can fall back to the state file.

import { isUuid } from "../config/parsers.ts";
import { type DeniableError, failureError, type KubeClient } from "./client.ts";
import { pick } from "./json_pick.ts";

/** The ConfigMap that keeps the cluster id, in the pod's namespace. */
export const CLUSTER_ID_CONFIGMAP = "hodometer";
/** The ConfigMap's key that holds the id. */
const CLUSTER_ID_KEY = "cluster_id";

/** What is read of the ConfigMap: the id, and only a UUID's worth of it. */
const CONFIGMAP_PICK = pick.object({
  data: pick.object({ [CLUSTER_ID_KEY]: pick.scalar(64) }),
});

/** Where the cluster id is kept in Kubernetes. */
export interface ClusterIdStore {
  /** The stored id; undefined when there is no ConfigMap yet. */
  load(signal?: AbortSignal): Promise<string | undefined | DeniableError>;
  /** Stores `id` unless another replica stored one first; returns the id in force. */
  save(id: string, signal?: AbortSignal): Promise<string | DeniableError>;
}

/** The cluster id's store in ConfigMap `hodometer` of `namespace`. */
export function kubeClusterIdStore(
  client: KubeClient,
  namespace: string,
): ClusterIdStore {
  const ns = encodeURIComponent(namespace);
  const scope = `in namespace ${namespace}`;
  const lost = "falling back to the state file";

  const load = async (signal?: AbortSignal) => {
    const res = await client.request({
      path: `/api/v1/namespaces/${ns}/configmaps/${CLUSTER_ID_CONFIGMAP}`,
      signal,
      pick: CONFIGMAP_PICK,
    });
    if (!res.ok) {
      if (res.failure === "not found") return undefined;
      return failureError(
        {
          verb: "get",
          resource: "configmaps",
          name: CLUSTER_ID_CONFIGMAP,
          scope,
        },
        res,
        lost,
      );
    }
    const data = (res.body as { data?: unknown } | null)?.data;
    const raw = typeof data === "object" && data !== null
      ? (data as Record<string, unknown>)[CLUSTER_ID_KEY]
      : undefined;
    if (typeof raw !== "string" || !isUuid(raw)) {
      return new Error(
        `kubernetes: ConfigMap ${CLUSTER_ID_CONFIGMAP} ${scope} has no UUID under "${CLUSTER_ID_KEY}": ${lost}`,
      );
    }
    return raw.trim().toLowerCase();
  };

  const save = async (id: string, signal?: AbortSignal) => {
    if (!isUuid(id)) return new Error(`"${id}" is not a UUID`);
    const res = await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/configmaps`,
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: CLUSTER_ID_CONFIGMAP,
          labels: { "app.kubernetes.io/name": "hodometer" },
        },
        data: { [CLUSTER_ID_KEY]: id.trim().toLowerCase() },
      },
      signal,
      // The created object's answer is not needed, only its status.
      pick: pick.skip,
    });
    if (res.ok) return id.trim().toLowerCase();
    if (res.failure === "conflict") {
      const winner = await load(signal);
      return winner === undefined
        ? new Error(
          `kubernetes: ConfigMap ${CLUSTER_ID_CONFIGMAP} ${scope} conflicted on create but cannot be read back: ${lost}`,
        )
        : winner;
    }
    return failureError(
      { verb: "create", resource: "configmaps", scope },
      res,
      lost,
    );
  };

  return { load, save };
}

/** The persisted id, creating it with `newId()` when there is none yet. */
export async function getOrCreateClusterId(
  store: ClusterIdStore,
  newId: () => string = () => crypto.randomUUID(),
  signal?: AbortSignal,
): Promise<string | DeniableError> {
  const found = await store.load(signal);
  if (found !== undefined) return found;
  return await store.save(newId(), signal);
}
