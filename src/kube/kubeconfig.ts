// Kubernetes access from a kubeconfig, outside a pod. @kubernetes/client-node
// interprets the files (contexts, token files, client certificates, OIDC);
// requests still go through our small fetch client. Several files (KUBECONFIG
// as a colon-separated list) are merged the way kubectl merges them. Only ever
// imported dynamically (see access.ts): the library is heavy.

import { httpKubeClient, type KubeClient } from "./client.ts";
import type { ReadBudget } from "./read_budget.ts";
import type { KubeConfig } from "./client_node.d.ts";
import { errorMessage } from "../runtime/error_message.ts";

/** How kubeconfigClient's requests are made. */
export interface KubeconfigOptions {
  /** Timeout of each request, reading its answer included. */
  timeoutMs: number;
  /** Shared by every read of the client (one collection's). */
  budget?: ReadBudget;
  /** fetch to use instead of the global one (tests). */
  fetch?: typeof fetch;
}

type HttpsOptions = {
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  headers?: Record<string, string | number | string[]>;
  auth?: string;
};

/** A kubeconfig that can be used: its current context names a usable cluster and user. */
export interface LoadedKubeconfig {
  /** The files, as named (joined with ":" in messages). */
  paths: readonly string[];
  /** The merged configuration, as @kubernetes/client-node reads it. */
  config: KubeConfig;
  /** The API server of the current context. */
  server: URL;
  /** insecure-skip-tls-verify: the API server's certificate is not verified. */
  insecure: boolean;
}

const text = (v: Uint8Array | string) =>
  typeof v === "string" ? v : new TextDecoder().decode(v);

/** `kubernetes: cannot use kubeconfig <paths>: <why>` */
function kubeconfigProblem(
  paths: readonly string[],
  why: string,
): Error {
  return new Error(
    `kubernetes: cannot use kubeconfig ${paths.join(":")}: ${why}`,
  );
}

/**
 * Reads and merges the files (the first file to set a cluster, user, context
 * or current-context wins, as kubectl does) and checks that the current
 * context can be used by this program. Every problem is an Error that names
 * the file and why.
 */
export async function loadKubeconfig(
  paths: readonly string[],
): Promise<LoadedKubeconfig | Error> {
  const fail = (why: string) => kubeconfigProblem(paths, why);
  if (paths.length === 0) return fail("no file named");
  const { KubeConfig } = await import("./client_node.ts");
  const files: KubeConfig[] = [];
  for (const path of paths) {
    const kc = new KubeConfig();
    const problem = unreadable(path) ?? loadInto(kc, path);
    if (problem) return fail(problem);
    files.push(kc);
  }
  const [only] = files;
  const config = files.length === 1 && only !== undefined
    ? only
    : merged(new KubeConfig(), files);
  const usable = usableContext(config);
  if (typeof usable === "string") return fail(usable);
  return { paths, config, ...usable };
}

/** Reads the kubeconfig at `path` into `kc`; why it cannot be, or undefined. */
function loadInto(kc: KubeConfig, path: string): string | undefined {
  try {
    if (Deno.readTextFileSync(path).trim() === "") return `${path} is empty`;
    kc.loadFromFile(path);
    return undefined;
  } catch (e) {
    // YAML errors carry a multi-line excerpt; the first line says it.
    const why = (errorMessage(e).split("\n")[0] ?? "").trim();
    return `${path} is not a valid kubeconfig: ${why}`;
  }
}

/**
 * The API server of the current context, and whether its certificate goes
 * unverified; or why this program cannot use that context.
 */
function usableContext(
  config: KubeConfig,
): Pick<LoadedKubeconfig, "server" | "insecure"> | string {
  const contextName = config.getCurrentContext();
  if (!contextName) return "it sets no current-context";
  const context = config.getContextObject(contextName);
  if (!context) {
    return `current-context "${contextName}" is not one of its contexts`;
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    return `context "${contextName}" names cluster "${context.cluster}", which it does not define`;
  }
  if (!URL.canParse(cluster.server)) {
    return `server "${cluster.server}" is not a URL`;
  }
  const server = new URL(cluster.server);
  if (server.protocol !== "https:" && server.protocol !== "http:") {
    return `server "${cluster.server}" is not an http(s) URL`;
  }
  if (cluster.tlsServerName) {
    return "tls-server-name is not supported: point server at a name its certificate holds";
  }
  if (cluster.skipTLSVerify && cluster.proxyUrl) {
    return "insecure-skip-tls-verify together with proxy-url is not supported";
  }
  const plugin = credentialPlugin(config);
  if (plugin !== undefined && !mayRunPrograms()) {
    return `user "${plugin.user}" gets its credentials by running "${plugin.command}", and this binary may not start programs (it is built without --allow-run). Use a kubeconfig whose user has a token (e.g. from kubectl create token <service account>) or a client certificate, or run hodometer in the cluster`;
  }
  return {
    server,
    insecure: cluster.skipTLSVerify && server.protocol === "https:",
  };
}

/** The program the current user runs for its credentials (exec or an auth provider's cmd-path), if any. */
function credentialPlugin(
  config: KubeConfig,
): { user: string; command: string } | undefined {
  const user = config.getCurrentUser();
  const command = user?.exec?.command ??
    user?.authProvider?.config?.["cmd-path"];
  return user && typeof command === "string"
    ? { user: user.name, command }
    : undefined;
}

function unreadable(path: string): string | undefined {
  try {
    if (!Deno.statSync(path).isFile) return `${path} is not a file`;
    Deno.openSync(path, { read: true }).close();
    return undefined;
  } catch (e) {
    return e instanceof Deno.errors.NotFound
      ? `${path} does not exist`
      : `cannot read ${path}: ${errorMessage(e)}`;
  }
}

/** kubectl's merge: the first definition of each name wins, and the first current-context. */
function merged(into: KubeConfig, files: readonly KubeConfig[]): KubeConfig {
  const firstByName = <T extends { name: string }>(lists: T[][]) => {
    const seen = new Map<string, T>();
    for (const item of lists.flat()) {
      if (!seen.has(item.name)) seen.set(item.name, item);
    }
    return [...seen.values()];
  };
  into.loadFromOptions({
    clusters: firstByName(files.map((f) => f.getClusters())),
    users: firstByName(files.map((f) => f.getUsers())),
    contexts: firstByName(files.map((f) => f.getContexts())),
    currentContext: files.map((f) => f.getCurrentContext()).find((c) => c) ??
      "",
  });
  return into;
}

function mayRunPrograms(): boolean {
  return Deno.permissions.querySync({ name: "run" }).state === "granted";
}

/** A client of the current context's API server: credentials from the kubeconfig, requests through our fetch client. */
export async function kubeconfigClient(
  loaded: LoadedKubeconfig,
  options: KubeconfigOptions,
): Promise<KubeClient | Error> {
  const { config: kc, server, paths } = loaded;
  const fail = (why: string) => kubeconfigProblem(paths, why);
  const cluster = kc.getCurrentCluster()!;

  const credentials = async (): Promise<HttpsOptions | Error> => {
    const opts: HttpsOptions = {};
    try {
      await kc.applyToHTTPSOptions(opts);
      return opts;
    } catch (e) {
      return fail(`credentials: ${errorMessage(e)}`);
    }
  };
  const first = await credentials();
  if (first instanceof Error) return first;
  const clientCert = first.cert && first.key
    ? { cert: text(first.cert), key: text(first.key) }
    : undefined;

  let httpClient: Deno.HttpClient | undefined;
  let doFetch = options.fetch;
  if (loaded.insecure) {
    // Deno's fetch always verifies; node:https can be told not to.
    const { insecureFetch } = await import("./insecure_fetch.ts");
    doFetch = insecureFetch(clientCert);
  } else if (server.protocol === "https:" || cluster.proxyUrl) {
    try {
      httpClient = Deno.createHttpClient({
        ...clientCert,
        caCerts: first.ca ? [text(first.ca)] : undefined,
        proxy: cluster.proxyUrl ? { url: cluster.proxyUrl } : undefined,
        // HTTP/1.1 only: see HTTP_1_ONLY in client.ts.
        http2: false,
      });
    } catch (e) {
      return fail(`TLS or proxy settings: ${errorMessage(e)}`);
    }
  }
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;

  return httpKubeClient({
    mode: "kubeconfig",
    server: cluster.server,
    namespace: namespace || undefined,
    httpClient,
    timeoutMs: options.timeoutMs,
    budget: options.budget,
    fetch: doFetch,
    credentials: async () => {
      const opts = await credentials();
      if (opts instanceof Error) return opts;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
      }
      if (opts.auth && !headers.authorization) {
        const userPass = new TextEncoder().encode(opts.auth).toBase64();
        headers.authorization = `Basic ${userPass}`;
      }
      return { headers };
    },
  });
}
