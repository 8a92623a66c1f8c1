// How hodometer reaches the Kubernetes API, if at all:
// - in a pod (KUBERNETES_SERVICE_HOST/PORT and the service-account files): our own
//   small client on fetch, the token re-read from its file for every request;
// - outside a pod with a kubeconfig: @kubernetes/client-node, imported lazily
//   (kubeconfig.ts), for every kubeconfig auth method;
// - neither: not in Kubernetes.
// This module must not import @kubernetes/client-node, even transitively: it
// costs tens of MB in a pod given 32 MiB.

import {
  DEFAULT_TIMEOUT_MS,
  httpKubeClient,
  type KubeClient,
} from "./client.ts";

export const DEFAULT_SERVICE_ACCOUNT_DIR =
  "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeAccessOptions {
  /** The process environment (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT). */
  env: Readonly<Record<string, string | undefined>>;
  /** Kubeconfig file, used outside a pod only. */
  kubeconfig?: string;
  /** Where the service-account token, ca.crt and namespace are mounted. */
  serviceAccountDir?: string;
  /** Timeout of every request. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type KubeAccess =
  | { inKubernetes: false; client?: undefined; problem?: undefined }
  | { inKubernetes: true; client: KubeClient; problem?: undefined }
  /** In Kubernetes, but the API cannot be reached (e.g. no token mounted). */
  | { inKubernetes: true; client?: undefined; problem: string };

/** Finds out how to reach the API. Never throws; close the client when done. */
export async function openKubernetes(
  options: KubeAccessOptions,
): Promise<KubeAccess> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const host = options.env.KUBERNETES_SERVICE_HOST?.trim();
  const port = options.env.KUBERNETES_SERVICE_PORT?.trim();
  if (host && port) {
    const dir = options.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR;
    const client = await inClusterClient(
      host,
      port,
      dir,
      timeoutMs,
      options.fetch,
    );
    return client instanceof Error
      ? { inKubernetes: true, problem: client.message }
      : { inKubernetes: true, client };
  }
  if (options.kubeconfig) {
    try {
      const { kubeconfigClient } = await import("./kubeconfig.ts");
      const client = await kubeconfigClient(options.kubeconfig, {
        timeoutMs,
        fetch: options.fetch,
      });
      return client instanceof Error
        ? { inKubernetes: true, problem: client.message }
        : { inKubernetes: true, client };
    } catch (e) {
      return {
        inKubernetes: true,
        problem: `kubernetes: cannot use kubeconfig ${options.kubeconfig}: ${
          e instanceof Error ? e.message : String(e)
        }`,
      };
    }
  }
  return { inKubernetes: false };
}

async function readFileText(path: string): Promise<string | Error> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    return new Error(
      e instanceof Deno.errors.NotFound
        ? `${path} does not exist`
        : `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** The service-account token, read afresh (projected tokens rotate). */
export async function readToken(dir: string): Promise<string | Error> {
  const text = await readFileText(`${dir}/token`);
  if (text instanceof Error) return text;
  const token = text.trim();
  if (token === "" || /\s/.test(token)) {
    return new Error(`${dir}/token does not hold a bearer token`);
  }
  return token;
}

async function inClusterClient(
  host: string,
  port: string,
  dir: string,
  timeoutMs: number,
  fetchFn?: typeof fetch,
): Promise<KubeClient | Error> {
  const unusable = (why: string) =>
    new Error(
      `kubernetes: in a pod but the API is unusable: ${why}; Kubernetes metrics omitted`,
    );
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    return unusable(`KUBERNETES_SERVICE_PORT "${port}" is not a port`);
  }
  const token = await readToken(dir);
  if (token instanceof Error) {
    return unusable(
      `${token.message} (is automountServiceAccountToken false?)`,
    );
  }
  const ca = await readFileText(`${dir}/ca.crt`);
  if (ca instanceof Error) return unusable(ca.message);
  const ns = await readFileText(`${dir}/namespace`);
  let httpClient: Deno.HttpClient;
  try {
    httpClient = Deno.createHttpClient({ caCerts: [ca] });
  } catch (e) {
    return unusable(
      `${dir}/ca.crt is not a usable CA certificate: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
  const hostPart = host.includes(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  return httpKubeClient({
    mode: "in-cluster",
    server: `https://${hostPart}:${port}`,
    namespace: ns instanceof Error ? undefined : ns.trim() || undefined,
    httpClient,
    timeoutMs,
    fetch: fetchFn,
    credentials: async () => {
      const t = await readToken(dir);
      return t instanceof Error
        ? t
        : { headers: { authorization: `Bearer ${t}` } };
    },
  });
}
