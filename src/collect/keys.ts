// The settings each collecting command reads. Kept apart from the code that
// uses them, so the command registry can list them without loading gRPC.

import type { Config } from "../config/settings.ts";

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

export type SourceConfig = Config<typeof SOURCE_KEYS[number]>;

export const COLLECT_KEYS = [
  ...SOURCE_KEYS,
  "clusterId",
  "stateDir",
  "token",
] as const;
