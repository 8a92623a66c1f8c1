// Control-plane TLS material from Kubernetes secrets in the pod's namespace
// (CONTROL_PLANE_CLIENT_TLS_SECRET_NAME, CONTROL_PLANE_SERVER_TLS_SECRET_NAME):
// the keys asked for, base64 in the secret's data. Which keys, and what each
// is used for, is collect/scheduler_tls.ts's decision.

import { decodeBase64 } from "../net/base64.ts";
import { explainFailure, type KubeClient } from "./client.ts";

/** The keys of one secret's data, each decoded. */
export type SecretKeys = Record<string, Uint8Array>;

/** The wanted keys of one secret, each decoded; an Error names the secret and the key. */
export async function readSecretKeys(
  client: KubeClient,
  namespace: string,
  name: string,
  keys: readonly string[],
  signal?: AbortSignal,
): Promise<SecretKeys | Error> {
  const where = `secret "${name}" in namespace ${namespace}`;
  const res = await client.request({
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${
      encodeURIComponent(name)
    }`,
    signal,
  });
  if (!res.ok) {
    return new Error(explainFailure(
      {
        verb: "get",
        resource: "secrets",
        name,
        scope: `in namespace ${namespace}`,
      },
      res,
      "no control-plane TLS material",
    ));
  }
  const data = (res.body as { data?: unknown } | null)?.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return new Error(`kubernetes: ${where} has no data`);
  }
  const out: SecretKeys = {};
  for (const key of keys) {
    const raw = Object.hasOwn(data, key)
      ? (data as Record<string, unknown>)[key]
      : undefined;
    if (raw === undefined) {
      return new Error(`kubernetes: ${where} has no key "${key}"`);
    }
    const bytes = typeof raw === "string"
      ? decodeBase64(raw.replace(/\s+/g, ""))
      : null;
    if (bytes === null || bytes.length === 0) {
      return new Error(
        `kubernetes: ${where} key "${key}" is not non-empty base64 data`,
      );
    }
    out[key] = bytes;
  }
  return out;
}
