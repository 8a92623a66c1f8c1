// The small part of @kubernetes/client-node that kubeconfig.ts uses. Declared
// here so type checking does not pull in the library's types, which bring a
// second copy of @types/node into the whole project's type graph.

export interface Cluster {
  readonly name: string;
  readonly server: string;
  readonly skipTLSVerify: boolean;
  readonly tlsServerName?: string;
  readonly proxyUrl?: string;
}

export interface Context {
  readonly name: string;
  readonly cluster: string;
  readonly user: string;
  readonly namespace?: string;
}

export declare class KubeConfig {
  loadFromFile(file: string): void;
  getCurrentCluster(): Cluster | null;
  getCurrentContext(): string;
  getContextObject(name: string): Context | null;
  /** Fills ca/cert/key, headers (Authorization from any auth method) and auth. */
  applyToHTTPSOptions(opts: object): Promise<void>;
}
