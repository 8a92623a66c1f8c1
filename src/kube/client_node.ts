// The lazily loaded bridge to @kubernetes/client-node (kubeconfig path only).
// @ts-types="./client_node.d.ts"
export { KubeConfig } from "@kubernetes/client-node";
