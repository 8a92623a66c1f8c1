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

import type { Env } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import {
  checkKubeconfig,
  type KubeAccess,
  kubernetesSources,
  openKubernetes,
} from "../kube/mod.ts";
import type { RetryPolicy, SchedulerAddress } from "./scheduler_client.ts";
import { readSchedulerTls } from "./scheduler_tls.ts";
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
  const tls = await readSchedulerTls(config, {
    kube,
    namespace: config.podNamespace,
    signal,
  });
  if (tls instanceof Error) return tls;
  return { host, port: config.schedulerTlsPort, tls };
}
