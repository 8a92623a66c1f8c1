// The Kubernetes side of hodometer, for the collector and the identity code.
// Everything here is light: @kubernetes/client-node is only ever loaded by
// openKubernetes on the kubeconfig path, with a dynamic import.

export {
  checkKubeconfig,
  type KubeAccess,
  type KubeAccessOptions,
  openKubernetes,
} from "./access.ts";
export type { KubeClient, KubeRequest, KubeResponse } from "./client.ts";
export { kubernetesSources, type KubeSourceOptions } from "./sources.ts";
export {
  type ClusterIdStore,
  getOrCreateClusterId,
  kubeClusterIdStore,
} from "./cluster_id.ts";
export { readSecretKeys, type SecretKeys } from "./tls_secrets.ts";
