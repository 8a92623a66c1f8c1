// Everything one collection reads from, opened from the configuration: the
// Kubernetes API (when there is one) and the scheduler (plaintext or TLS).
// Opened per cycle and closed after it: TLS files and secrets are re-read, so
// rotated certificates are picked up without a restart.
//
// The order of the stages is chosen for the lowest peak of memory (SPEC §4
// allows any order): the Kubernetes sources first, then the scheduler's
// streams. The gRPC client (grpc-js and Deno's node:http2, about 5 MiB once
// loaded) is imported only when the scheduler stage begins, so the
// Kubernetes lists are read and collected before it exists, and the two
// never add up.

import { type Env, SETTINGS } from "../config/settings.ts";
import { isIpLiteral } from "../net/host.ts";
import { errorMessage } from "../runtime/error_message.ts";
import type { Logger } from "../log/setup.ts";
import {
  checkKubeconfig,
  type KubeAccess,
  kubernetesSources,
  openKubernetes,
  readControlPlaneTls,
} from "../kube/mod.ts";
import type {
  RetryPolicy,
  SchedulerAddress,
  SchedulerTls,
} from "./scheduler_client.ts";
import type { Stage } from "./collector.ts";
import type { SourceConfig } from "./keys.ts";

export type { SourceConfig };

export interface OpenedSources {
  /** Read one after another (collectStages): Kubernetes, then the scheduler. */
  stages: Stage[];
  kube: KubeAccess;
  /** Problems found while opening (e.g. TLS secrets unreadable): a source lost. */
  warnings: string[];
  close(): void;
}

export interface OpenOptions {
  env: Env;
  log: Logger;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  retry?: Omit<RetryPolicy, "deadline">;
}

export async function openSources(
  config: SourceConfig,
  options: OpenOptions,
): Promise<OpenedSources> {
  const kube = await openKubernetes({
    env: options.env,
    kubeconfig: config.kubeconfig,
    serviceAccountDir: config.kubeServiceAccountDir,
    timeoutMs: config.kubeTimeoutMs,
    fetch: options.fetch,
  });
  const warnings: string[] = [];
  const closers: (() => void)[] = [];
  if (kube.client) closers.push(() => kube.client?.close());
  const stages: Stage[] = [
    kubernetesSources(kube, {
      level: config.metricsLevel,
      namespace: config.podNamespace,
    }),
  ];

  const address = await schedulerAddress(config, kube, options.signal);
  if (address instanceof Error) {
    // Without its TLS material the scheduler is not asked at all; its
    // metrics are absent and the reason is said once.
    warnings.push(address.message);
  } else {
    stages.push({
      name: "scheduler",
      open: async () => {
        const { openScheduler } = await import("./scheduler_client.ts");
        const { schedulerSources } = await import("./scheduler_sources.ts");
        const client = openScheduler(address);
        closers.push(() => client.close());
        return schedulerSources(client, {
          level: config.metricsLevel,
          timeoutMs: config.schedulerTimeoutMs,
          retry: options.retry,
        });
      },
    });
  }
  return {
    stages,
    kube,
    warnings,
    close: () => closers.forEach((close) => close()),
  };
}

/** What the sources' configuration holds that stops start-up, or is said once. */
export interface SourceCheck {
  /** A configuration error: the command exits with EXIT_CONFIG. */
  fatal?: string;
  warnings: string[];
}

/**
 * Checked once before the first collection: what the settings alone cannot
 * tell (a named kubeconfig that is missing, malformed or unusable here).
 */
export function checkSources(
  config: SourceConfig,
  env: Env,
): Promise<SourceCheck> {
  return checkKubeconfig({ env, kubeconfig: config.kubeconfig });
}

async function schedulerAddress(
  config: SourceConfig,
  kube: KubeAccess,
  signal?: AbortSignal,
): Promise<SchedulerAddress | Error> {
  const host = config.schedulerHost;
  if (config.controlPlaneSecurityProtocol !== "SSL") {
    return { host, port: config.schedulerPort };
  }
  if (isIpLiteral(host)) {
    return new Error(
      `scheduler TLS: SCHEDULER_HOST=${host} is an IP address; TLS to the scheduler needs the host name its certificate names (e.g. seldon-scheduler); the scheduler is not asked`,
    );
  }
  const tls = await tlsMaterial(config, kube, signal);
  if (tls instanceof Error) return tls;
  return { host, port: config.schedulerTlsPort, tls };
}

/**
 * The scheduler's TLS material, per material: the client certificate and key,
 * and the CA that validates the scheduler. A secret name wins over the files
 * of the same material (as the reference does); only what is used is read.
 */
async function tlsMaterial(
  config: SourceConfig,
  kube: KubeAccess,
  signal?: AbortSignal,
): Promise<SchedulerTls | Error> {
  const tls: SchedulerTls = {};
  const fromFile = async (variable: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return await Deno.readFile(path);
    } catch (e) {
      throw new Error(
        `scheduler TLS: cannot read ${variable}=${path}: ${errorMessage(e)}`,
      );
    }
  };
  const clientSecret = config.clientTlsSecretName;
  const caSecret = config.serverTlsSecretName;
  try {
    if (clientSecret === undefined) {
      tls.cert = await fromFile(
        SETTINGS.clientTlsCrt.env,
        config.clientTlsCrt,
      );
      tls.key = await fromFile(SETTINGS.clientTlsKey.env, config.clientTlsKey);
    }
    if (caSecret === undefined) {
      tls.ca = config.serverTlsCa !== undefined
        ? await fromFile(SETTINGS.serverTlsCa.env, config.serverTlsCa)
        : await fromFile(SETTINGS.clientTlsCa.env, config.clientTlsCa);
    }
  } catch (e) {
    return e as Error;
  }
  if (clientSecret !== undefined || caSecret !== undefined) {
    if (!kube.client) {
      return new Error(
        "scheduler TLS: CONTROL_PLANE_*_TLS_SECRET_NAME is set but the Kubernetes API is not reachable; mount the files and use the CONTROL_PLANE_*_TLS_*_LOCATION variables instead (without the secret names)",
      );
    }
    const namespace = config.podNamespace ?? kube.client.namespace;
    if (namespace === undefined) {
      return new Error(
        "scheduler TLS: the namespace of the TLS secrets is unknown: set POD_NAMESPACE",
      );
    }
    const fromSecrets = await readControlPlaneTls(kube.client, {
      namespace,
      clientSecretName: clientSecret,
      serverSecretName: caSecret,
    }, signal);
    if (fromSecrets instanceof Error) {
      return new Error(
        `scheduler TLS: ${fromSecrets.message}; the scheduler is not asked`,
      );
    }
    if (clientSecret !== undefined) {
      tls.cert = fromSecrets.cert;
      tls.key = fromSecrets.key;
    }
    if (caSecret !== undefined) tls.ca = fromSecrets.ca;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    return new Error(
      "scheduler TLS: a client certificate needs its key and the key its certificate (CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION and CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION)",
    );
  }
  return tls;
}
