// Everything one collection reads from, opened from the configuration: the
// Kubernetes API (when there is one) and the scheduler (plaintext or TLS).
// Opened per cycle and closed after it: TLS files and secrets are re-read, so
// rotated certificates are picked up without a restart.

import type { Env } from "../config/settings.ts";
import type { Logger } from "../log/setup.ts";
import {
  checkKubeconfig,
  type KubeAccess,
  kubernetesSources,
  openKubernetes,
} from "../kube/mod.ts";
import { openScheduler, type SchedulerAddress } from "./scheduler_client.ts";
import { readSchedulerTls } from "./scheduler_tls.ts";
import { schedulerSources } from "./scheduler_sources.ts";
import type { Source } from "../metrics/source.ts";
import type { RetryPolicy } from "./scheduler_client.ts";
import type { SourceConfig } from "./keys.ts";

export type { SourceConfig };

export interface OpenedSources {
  sources: Source[];
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
  const sources = kubernetesSources(kube, {
    level: config.metricsLevel,
    namespace: config.podNamespace,
  });

  const address = await schedulerAddress(config, kube, options.signal);
  if (address instanceof Error) {
    // Without its TLS material the scheduler is not asked at all; its
    // metrics are absent and the reason is said once.
    warnings.push(address.message);
  } else {
    const client = openScheduler(address);
    closers.push(() => client.close());
    sources.push(...schedulerSources(client, {
      level: config.metricsLevel,
      timeoutMs: config.schedulerTimeoutMs,
      retry: options.retry,
    }));
  }
  return {
    sources,
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
