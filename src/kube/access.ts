// How hodometer reaches the Kubernetes API, if at all:
// - in a pod (KUBERNETES_SERVICE_HOST/PORT and the service-account files): our own
//   small client on fetch, the token re-read from its file for every request;
// - outside a pod with a kubeconfig (--kubeconfig, KUBECONFIG, else
//   ~/.kube/config when it exists, as kubectl): @kubernetes/client-node,
//   imported lazily (kubeconfig.ts), interprets it;
// - neither: not in Kubernetes.
// This module must not import @kubernetes/client-node, even transitively: it
// costs tens of MB in a pod given 32 MiB.

import { hostForAddress } from "../net/host.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { SETTINGS } from "../config/settings.ts";
import { httpKubeClient, type KubeClient } from "./client.ts";
import { ReadBudget } from "./read_budget.ts";

/** How openKubernetes finds and reaches the API. */
export interface KubeAccessOptions {
  /** The process environment (KUBERNETES_SERVICE_*, KUBECONFIG, HOME). */
  env: Readonly<Record<string, string | undefined>>;
  /** The kubeconfig setting (--kubeconfig or KUBECONFIG), used outside a pod only. */
  kubeconfig?: string;
  /** Where the service-account token, ca.crt and namespace are mounted; KUBERNETES_SERVICEACCOUNT_DIR's default unless given. */
  serviceAccountDir?: string;
  /** Timeout of every request (reading its answer included); KUBERNETES_TIMEOUT's default unless given. */
  timeoutMs?: number;
  /**
   * Bytes all reads of the client may take together (default
   * DEFAULT_READ_BUDGET_BYTES); a client serves one collection.
   */
  readBudgetBytes?: number;
  /** fetch to use instead of the global one (tests). */
  fetch?: typeof fetch;
}

/** Whether hodometer runs in Kubernetes, and the client of its API when it can be used. */
export type KubeAccess =
  | { inKubernetes: false; client?: undefined; problem?: undefined }
  | { inKubernetes: true; client: KubeClient; problem?: undefined }
  /** In Kubernetes, but the API cannot be reached (e.g. no token mounted). */
  | { inKubernetes: true; client?: undefined; problem: string };

/**
 * Finds out how to reach the API: the service account in a pod, else a
 * kubeconfig, else none (not in Kubernetes). Never throws: an API that cannot
 * be used is a `problem`, said by the sources. Close the client when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kubernetesSources, openKubernetes } from "./mod.ts";
 *
 * // Outside a pod, with no kubeconfig: not in Kubernetes, and nothing asked.
 * // (The agent passes Deno.env.toObject() and the --kubeconfig setting.)
 * const access = await openKubernetes({ env: {} });
 * assert.equal(access.inKubernetes, false);
 * const sources = kubernetesSources(access, { level: "cluster" });
 * const signal = new AbortController().signal;
 * const results = await Promise.all(sources.map((s) => s.read(signal)));
 * assert.deepEqual(results, [{ snapshot: { is_kubernetes: false } }]);
 * ```
 */
export async function openKubernetes(
  options: KubeAccessOptions,
): Promise<KubeAccess> {
  const timeoutMs = options.timeoutMs ?? SETTINGS.kubeTimeoutMs.default;
  const budget = new ReadBudget(options.readBudgetBytes);
  const host = options.env.KUBERNETES_SERVICE_HOST?.trim();
  const port = options.env.KUBERNETES_SERVICE_PORT?.trim();
  if (host && port) {
    const dir = options.serviceAccountDir ??
      SETTINGS.kubeServiceAccountDir.default;
    const client = await inClusterClient(host, port, dir, {
      timeoutMs,
      budget,
      fetch: options.fetch,
    });
    return client instanceof Error
      ? { inKubernetes: true, problem: client.message }
      : { inKubernetes: true, client };
  }
  const choice = kubeconfigChoice(options);
  if (choice) {
    try {
      const { loadKubeconfig, kubeconfigClient } = await import(
        "./kubeconfig.ts"
      );
      const loaded = await loadKubeconfig(choice.paths);
      const client = loaded instanceof Error ? loaded : await kubeconfigClient(
        loaded,
        { timeoutMs, budget, fetch: options.fetch },
      );
      return client instanceof Error
        ? {
          inKubernetes: true,
          problem: `${client.message}; Kubernetes metrics omitted`,
        }
        : { inKubernetes: true, client };
    } catch (e) {
      return {
        inKubernetes: true,
        problem: `kubernetes: cannot use kubeconfig ${
          choice.paths.join(":")
        }: ${errorMessage(e)}; Kubernetes metrics omitted`,
      };
    }
  }
  return { inKubernetes: false };
}

/** Which kubeconfig files are used outside a pod, and whether someone named them. */
export interface KubeconfigChoice {
  /** The files, in order. */
  paths: string[];
  /** Named by --kubeconfig or KUBECONFIG (a problem stops start-up), else the default. */
  explicit: boolean;
  /** Where the choice came from, for messages. */
  from: "--kubeconfig" | "KUBECONFIG" | "~/.kube/config";
}

/** True in a pod: the service account is used, never a kubeconfig. */
function inPod(env: KubeAccessOptions["env"]): boolean {
  return Boolean(
    env.KUBERNETES_SERVICE_HOST?.trim() && env.KUBERNETES_SERVICE_PORT?.trim(),
  );
}

/**
 * As kubectl chooses: --kubeconfig (one file), else KUBECONFIG (a
 * colon-separated list, empty entries ignored), else ~/.kube/config when it
 * exists; undefined when there is none or in a pod.
 */
export function kubeconfigChoice(
  options: Pick<KubeAccessOptions, "env" | "kubeconfig">,
): KubeconfigChoice | undefined {
  const { env, kubeconfig } = options;
  if (inPod(env)) return undefined;
  if (kubeconfig) {
    // The setting holds the flag or, failing that, KUBECONFIG.
    const fromEnv = env.KUBECONFIG?.trim() === kubeconfig;
    return fromEnv
      ? {
        paths: kubeconfig.split(":").filter((p) => p.trim() !== ""),
        explicit: true,
        from: "KUBECONFIG",
      }
      : { paths: [kubeconfig], explicit: true, from: "--kubeconfig" };
  }
  const home = env.HOME?.trim();
  if (!home) return undefined;
  const path = `${home.replace(/\/+$/, "")}/.kube/config`;
  try {
    if (Deno.statSync(path).isFile) {
      return { paths: [path], explicit: false, from: "~/.kube/config" };
    }
  } catch {
    // no default kubeconfig: not in Kubernetes
  }
  return undefined;
}

/**
 * The start-up check of the kubeconfig path: a kubeconfig named by
 * --kubeconfig or KUBECONFIG that cannot be used is a configuration error
 * (`fatal`); otherwise what is worth a warning once (an API server whose
 * certificate is not verified). A default ~/.kube/config that cannot be used
 * is said by each collection instead, with its metrics omitted.
 */
export async function checkKubeconfig(
  options: Pick<KubeAccessOptions, "env" | "kubeconfig">,
): Promise<{ fatal?: string; warnings: string[] }> {
  const choice = kubeconfigChoice(options);
  if (!choice) return { warnings: [] };
  const { loadKubeconfig } = await import("./kubeconfig.ts");
  const loaded = await loadKubeconfig(choice.paths);
  if (loaded instanceof Error) {
    return choice.explicit
      ? { fatal: `${loaded.message} (named by ${choice.from})`, warnings: [] }
      : { warnings: [] };
  }
  return {
    warnings: loaded.insecure
      ? [
        `kubernetes: kubeconfig ${
          choice.paths.join(":")
        } sets insecure-skip-tls-verify: the API server's certificate is not verified, so anyone between here and ${loaded.server.host} could answer in its place`,
      ]
      : [],
  };
}

async function readFileText(path: string): Promise<string | Error> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    return new Error(
      e instanceof Deno.errors.NotFound
        ? `${path} does not exist`
        : `cannot read ${path}: ${errorMessage(e)}`,
    );
  }
}

/** The service-account token, read afresh (projected tokens rotate). */
async function readToken(dir: string): Promise<string | Error> {
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
  how: { timeoutMs: number; budget: ReadBudget; fetch?: typeof fetch },
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
    // HTTP/1.1 only: see HTTP_1_ONLY in client.ts.
    httpClient = Deno.createHttpClient({ caCerts: [ca], http2: false });
  } catch (e) {
    return unusable(
      `${dir}/ca.crt is not a usable CA certificate: ${errorMessage(e)}`,
    );
  }
  return httpKubeClient({
    mode: "in-cluster",
    server: `https://${hostForAddress(host)}:${port}`,
    namespace: ns instanceof Error ? undefined : ns.trim() || undefined,
    httpClient,
    ...how,
    credentials: async () => {
      const t = await readToken(dir);
      return t instanceof Error
        ? t
        : { headers: { authorization: `Bearer ${t}` } };
    },
  });
}
