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

export interface User {
  readonly name: string;
  /** An exec credential plugin: a program run for a token. */
  readonly exec?: { readonly command?: string } | null;
  /** A legacy auth provider; some (gcp, azure) run `config["cmd-path"]`. */
  readonly authProvider?: {
    readonly name?: string;
    readonly config?: Record<string, string | undefined>;
  } | null;
}

export interface Context {
  readonly name: string;
  readonly cluster: string;
  readonly user: string;
  readonly namespace?: string;
}

export declare class KubeConfig {
  loadFromFile(file: string): void;
  loadFromOptions(options: {
    clusters: Cluster[];
    users: User[];
    contexts: Context[];
    currentContext: string;
  }): void;
  getClusters(): Cluster[];
  getUsers(): User[];
  getContexts(): Context[];
  getCurrentCluster(): Cluster | null;
  getCurrentUser(): User | null;
  getCurrentContext(): string;
  getContextObject(name: string): Context | null;
  /** Fills ca/cert/key, headers (Authorization from any auth method) and auth. */
  applyToHTTPSOptions(opts: object): Promise<void>;
}
