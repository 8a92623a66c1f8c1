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

/** The sources of one collection, open, and how to close them. */
export interface OpenedSources {
  /** Read one after another (collectStages): Kubernetes, then the scheduler. */
  stages: Stage[];
  /** How the Kubernetes API was reached, if at all; its client also reads the cluster id. */
  kube: KubeAccess;
  /** Problems found while opening (e.g. TLS secrets unreadable): a source lost. */
  warnings: string[];
  /** Closes the Kubernetes client and the scheduler's channel, once the collection is over. */
  close(): void;
}

/** What openSources needs besides the settings. */
export interface OpenOptions {
  /** The process environment (Kubernetes' variables, HOME for ~/.kube/config). */
  env: Env;
  /** Where the sources say what they find. */
  log: Logger;
  /** Cancels the reads made while opening (the TLS secrets). */
  signal?: AbortSignal;
  /** fetch to use for the Kubernetes API instead of the global one (tests). */
  fetch?: typeof fetch;
  /** The scheduler calls' backoff (tests); the deadline comes from SCHEDULER_TIMEOUT. */
  retry?: Omit<RetryPolicy, "deadline">;
}

/**
 * Opens what one collection reads from: the Kubernetes API (in a pod or with
 * a kubeconfig) and the scheduler, plaintext or TLS with its material read
 * afresh. Never rejects for a source: one that cannot be opened is a warning
 * or a failing source. Close the result when the collection is over.
 */
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
  /** A configuration error: the command exits with EXIT.usage. */
  fatal?: string;
  /** Worth a warning once at start (e.g. an API server whose certificate is not verified). */
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
