// The settings the sources of one collection are opened from (the scheduler,
// Kubernetes). Kept apart from the code that uses them, so the command
// registry can list them without loading gRPC.

import type { Config } from "../config/settings.ts";

/** The settings the sources are opened from, as keys of SETTINGS. */
export const SOURCE_KEYS = [
  "metricsLevel",
  "schedulerHost",
  "schedulerPort",
  "schedulerTlsPort",
  "schedulerTimeoutMs",
  "controlPlaneSecurityProtocol",
  "clientTlsCrt",
  "clientTlsKey",
  "clientTlsCa",
  "serverTlsCa",
  "clientTlsSecretName",
  "serverTlsSecretName",
  "podNamespace",
  "kubeconfig",
  "kubeServiceAccountDir",
  "kubeTimeoutMs",
] as const;

/** The sources' settings (SOURCE_KEYS), resolved. */
export type SourceConfig = Config<typeof SOURCE_KEYS[number]>;
