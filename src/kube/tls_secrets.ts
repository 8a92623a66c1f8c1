// Control-plane TLS material from Kubernetes secrets in the pod's namespace
// (CONTROL_PLANE_CLIENT_TLS_SECRET_NAME, CONTROL_PLANE_SERVER_TLS_SECRET_NAME):
// keys `tls.crt`, `tls.key`, `ca.crt`, base64 in the secret's data.

import { decodeBase64 } from "../net/base64.ts";
import { explainFailure, type KubeClient } from "./client.ts";

export interface TlsMaterial {
  /** CA that validates the scheduler's certificate. */
  ca?: Uint8Array;
  /** Client certificate and key for mTLS. */
  cert?: Uint8Array;
  key?: Uint8Array;
}

export type SecretKeys = Partial<
  Record<"tls.crt" | "tls.key" | "ca.crt", Uint8Array>
>;

/** The wanted keys of one secret, each decoded; an Error names the secret and the key. */
export async function readSecretKeys(
  client: KubeClient,
  namespace: string,
  name: string,
  keys: readonly ("tls.crt" | "tls.key" | "ca.crt")[],
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
    const raw = (data as Record<string, unknown>)[key];
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

export interface ControlPlaneSecrets {
  namespace: string;
  /** Secret with the client certificate and key (tls.crt, tls.key). */
  clientSecretName?: string;
  /** Secret with the CA of the scheduler's certificate (ca.crt). */
  serverSecretName?: string;
}

/**
 * The scheduler client's TLS material: cert and key from the client secret,
 * the CA that validates the scheduler from the server secret.
 */
export async function readControlPlaneTls(
  client: KubeClient,
  secrets: ControlPlaneSecrets,
  signal?: AbortSignal,
): Promise<TlsMaterial | Error> {
  const out: TlsMaterial = {};
  if (secrets.clientSecretName) {
    const keys = await readSecretKeys(
      client,
      secrets.namespace,
      secrets.clientSecretName,
      ["tls.crt", "tls.key"],
      signal,
    );
    if (keys instanceof Error) return keys;
    out.cert = keys["tls.crt"];
    out.key = keys["tls.key"];
  }
  if (secrets.serverSecretName) {
    const keys = await readSecretKeys(
      client,
      secrets.namespace,
      secrets.serverSecretName,
      ["ca.crt"],
      signal,
    );
    if (keys instanceof Error) return keys;
    out.ca = keys["ca.crt"];
  }
  return out;
}
