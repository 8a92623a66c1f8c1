// The small part of @kubernetes/client-node that kubeconfig.ts uses. Declared
// here so type checking does not pull in the library's types, which bring a
// second copy of @types/node into the whole project's type graph.

/** A cluster entry of a kubeconfig: an API server and how to reach it. */
export interface Cluster {
  /** The entry's name, as contexts refer to it. */
  readonly name: string;
  /** The API server's URL (`server`). */
  readonly server: string;
  /** `insecure-skip-tls-verify`: the server's certificate is not checked. */
  readonly skipTLSVerify: boolean;
  /** `tls-server-name`: the name to check the certificate against, if not the URL's. */
  readonly tlsServerName?: string;
  /** `proxy-url`: the proxy requests to the server go through. */
  readonly proxyUrl?: string;
}

/** A user entry of a kubeconfig: how requests are authenticated. */
export interface User {
  /** The entry's name, as contexts refer to it. */
  readonly name: string;
  /** An exec credential plugin: a program run for a token. */
  readonly exec?: { readonly command?: string } | null;
  /** A legacy auth provider; some (gcp, azure) run `config["cmd-path"]`. */
  readonly authProvider?: {
    readonly name?: string;
    readonly config?: Record<string, string | undefined>;
  } | null;
}

/** A context entry of a kubeconfig: a cluster and a user, by name. */
export interface Context {
  /** The entry's name, as `current-context` refers to it. */
  readonly name: string;
  /** The name of its cluster entry. */
  readonly cluster: string;
  /** The name of its user entry. */
  readonly user: string;
  /** The namespace requests default to in this context. */
  readonly namespace?: string;
}

/**
 * A kubeconfig as @kubernetes/client-node reads it: the entries of the file
 * (or of several merged), the current context, and the credentials it
 * gives requests.
 */
export declare class KubeConfig {
  /** Reads a kubeconfig file (YAML); throws when it cannot be read or parsed. */
  loadFromFile(file: string): void;
  /** Replaces the entries and the current context with these. */
  loadFromOptions(options: {
    clusters: Cluster[];
    users: User[];
    contexts: Context[];
    currentContext: string;
  }): void;
  /** Every cluster entry, in the file's order. */
  getClusters(): Cluster[];
  /** Every user entry, in the file's order. */
  getUsers(): User[];
  /** Every context entry, in the file's order. */
  getContexts(): Context[];
  /** The current context's cluster entry; null when it names none defined. */
  getCurrentCluster(): Cluster | null;
  /** The current context's user entry; null when it names none defined. */
  getCurrentUser(): User | null;
  /**
   * The name in `current-context`; when the file sets none, empty or
   * (whatever the type says) undefined.
   */
  getCurrentContext(): string;
  /** The context entry of that name, or null. */
  getContextObject(name: string): Context | null;
  /** Fills ca/cert/key, headers (Authorization from any auth method) and auth. */
  applyToHTTPSOptions(opts: object): Promise<void>;
}
