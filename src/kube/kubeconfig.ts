// Kubernetes access from a kubeconfig, outside a pod. @kubernetes/client-node
// loads and interprets the file (contexts, exec plugins, OIDC, token files,
// client certificates); requests still go through our small fetch client.
// Only ever imported dynamically (see access.ts): the library is heavy.

import { httpKubeClient, type KubeClient } from "./client.ts";

export interface KubeconfigOptions {
  timeoutMs: number;
  fetch?: typeof fetch;
}

type HttpsOptions = {
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  headers?: Record<string, string | number | string[]>;
  auth?: string;
};

const text = (v: Uint8Array | string) =>
  typeof v === "string" ? v : new TextDecoder().decode(v);

export async function kubeconfigClient(
  path: string,
  options: KubeconfigOptions,
): Promise<KubeClient | Error> {
  const fail = (why: string) =>
    new Error(`kubernetes: cannot use kubeconfig ${path}: ${why}`);
  const { KubeConfig } = await import("./client_node.ts");
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) return fail("no current context with a cluster");
  if (!URL.canParse(cluster.server)) {
    return fail(`server "${cluster.server}" is not a URL`);
  }
  if (cluster.skipTLSVerify) {
    return fail("insecure-skip-tls-verify is not supported");
  }
  if (cluster.tlsServerName) return fail("tls-server-name is not supported");

  const credentials = async (): Promise<HttpsOptions | Error> => {
    const opts: HttpsOptions = {};
    try {
      await kc.applyToHTTPSOptions(opts);
      return opts;
    } catch (e) {
      return fail(
        `credentials: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  };
  const first = await credentials();
  if (first instanceof Error) return first;

  let httpClient: Deno.HttpClient | undefined;
  const server = new URL(cluster.server);
  if (server.protocol === "https:" || cluster.proxyUrl) {
    try {
      const tls = first.cert && first.key
        ? { cert: text(first.cert), key: text(first.key) }
        : {};
      httpClient = Deno.createHttpClient({
        ...tls,
        caCerts: first.ca ? [text(first.ca)] : undefined,
        proxy: cluster.proxyUrl ? { url: cluster.proxyUrl } : undefined,
      });
    } catch (e) {
      return fail(
        `TLS or proxy settings: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;

  return httpKubeClient({
    mode: "kubeconfig",
    server: cluster.server,
    namespace: namespace || undefined,
    httpClient,
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
    credentials: async () => {
      const opts = await credentials();
      if (opts instanceof Error) return opts;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
      }
      if (opts.auth && !headers.authorization) {
        headers.authorization = `Basic ${btoa(opts.auth)}`;
      }
      return { headers };
    },
  });
}
