// The scheduler's TLS material, taken from where Seldon's own TLS code takes
// it (components/tls/pkg/tls at seldon-core 7b77f8b, which the Go hodometer
// uses: cmd/hodometer/main.go:47-49), so that the chart's settings mean to us
// what they mean to the Go agent:
// - CONTROL_PLANE_CLIENT_TLS_SECRET_NAME set: every piece comes from
//   Kubernetes secrets and no file is read (store.go:114-137). The key of
//   each piece in its secret is the file name of its *_LOCATION variable, as
//   the chart lets operators choose them (k8s_secret.go:114, 125, 143); unset,
//   the usual tls.crt, tls.key and ca.crt. The scheduler is validated by the
//   CA of CONTROL_PLANE_SERVER_TLS_SECRET_NAME when it is named, else by the
//   client secret's own CA (store.go:237-248).
// - otherwise files: the client certificate and key, and the CA of
//   CONTROL_PLANE_SERVER_TLS_CA_LOCATION, else of
//   CONTROL_PLANE_CLIENT_TLS_CA_LOCATION (store.go:138-150, 237-248; file.go);
//   the server secret is not used, as in Go.
// As Go's, a CA must hold a certificate and a certificate must match its key
// (file.go:91-116, k8s_secret.go:136-159); the system's roots are never used.
// Kept different on purpose (docs/parity.md): a client certificate is
// optional (Go will not start without one), a CA is read only when it is
// used, POD_NAMESPACE may be left to the service account's namespace, and
// nothing is written to the *_LOCATION paths (Go saves the secrets there).

import { createPrivateKey, X509Certificate } from "node:crypto";
import { SETTINGS } from "../config/settings.ts";
import { errorMessage } from "../runtime/error_message.ts";
import { type KubeAccess, readSecretKeys } from "../kube/mod.ts";
import type { SchedulerTls } from "./scheduler_client.ts";
import type { SourceConfig } from "./keys.ts";

/** The settings the TLS material is found from. */
export type TlsSettings = Pick<
  SourceConfig,
  | "clientTlsCrt"
  | "clientTlsKey"
  | "clientTlsCa"
  | "serverTlsCa"
  | "clientTlsSecretName"
  | "serverTlsSecretName"
>;

/** Where one piece of TLS material is: a file, or a key of a secret. */
export type TlsPiece =
  | { variable: string; file: string }
  | { secret: string; key: string };

/** Where each piece is; an absent piece is not used. */
export interface TlsPlan {
  /** The client certificate (mTLS). */
  cert?: TlsPiece;
  /** The client certificate's private key. */
  key?: TlsPiece;
  /** The CA that validates the scheduler's certificate. */
  ca?: TlsPiece;
}

/**
 * The key of a piece in its secret: the file name of its location, as Go's
 * filepath.Base takes it (trailing slashes dropped), else `fallback`.
 */
export function secretKeyName(
  location: string | undefined,
  fallback: string,
): string {
  if (location === undefined) return fallback;
  const path = location.replace(/\/+$/, "");
  return path === "" ? "/" : path.slice(path.lastIndexOf("/") + 1);
}

/** Where each piece of the material comes from (see the top of this file). */
export function schedulerTlsPlan(s: TlsSettings): TlsPlan {
  const client = s.clientTlsSecretName;
  if (client !== undefined) {
    const server = s.serverTlsSecretName;
    return {
      cert: { secret: client, key: secretKeyName(s.clientTlsCrt, "tls.crt") },
      key: { secret: client, key: secretKeyName(s.clientTlsKey, "tls.key") },
      ca: server !== undefined
        ? { secret: server, key: secretKeyName(s.serverTlsCa, "ca.crt") }
        : { secret: client, key: secretKeyName(s.clientTlsCa, "ca.crt") },
    };
  }
  const file = (variable: string, path: string | undefined) =>
    path === undefined ? undefined : { variable, file: path };
  return {
    cert: file(SETTINGS.clientTlsCrt.env, s.clientTlsCrt),
    key: file(SETTINGS.clientTlsKey.env, s.clientTlsKey),
    ca: file(SETTINGS.serverTlsCa.env, s.serverTlsCa) ??
      file(SETTINGS.clientTlsCa.env, s.clientTlsCa),
  };
}

/** A piece as a message names it. */
function describePiece(piece: TlsPiece): string {
  return "file" in piece
    ? `${piece.variable}=${piece.file}`
    : `key "${piece.key}" of secret "${piece.secret}"`;
}

/** What is wrong with a plan before anything is read, or undefined. */
export function planProblem(plan: TlsPlan): string | undefined {
  if ((plan.cert === undefined) !== (plan.key === undefined)) {
    return `a client certificate needs its key and the key its certificate (${SETTINGS.clientTlsCrt.env} and ${SETTINGS.clientTlsKey.env})`;
  }
  if (plan.ca === undefined) {
    return `no CA to validate the scheduler's certificate: set ${SETTINGS.serverTlsCa.env} or ${SETTINGS.clientTlsCa.env}, or ${SETTINGS.clientTlsSecretName.env}`;
  }
  return undefined;
}

/**
 * What is wrong with material read as planned, as Go checks it: a CA holds
 * at least one certificate, a certificate parses and matches its key.
 */
function materialProblem(
  plan: TlsPlan,
  tls: SchedulerTls,
): string | undefined {
  if (plan.ca && tls.ca !== undefined && !holdsCertificate(tls.ca)) {
    return `${describePiece(plan.ca)} holds no PEM certificate`;
  }
  if (!plan.cert || !plan.key || !tls.cert || !tls.key) return undefined;
  try {
    const cert = new X509Certificate(tls.cert);
    if (cert.checkPrivateKey(createPrivateKey(toText(tls.key)))) {
      return undefined;
    }
    return `the private key (${
      describePiece(plan.key)
    }) does not match the certificate (${describePiece(plan.cert)})`;
  } catch (e) {
    return `cannot use the client certificate and key (${
      describePiece(plan.cert)
    }, ${describePiece(plan.key)}): ${errorMessage(e)}`;
  }
}

const PEM_CERTIFICATE =
  /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Whether PEM text holds a certificate that parses (Go's AppendCertsFromPEM). */
function holdsCertificate(pem: string | Uint8Array): boolean {
  for (const block of toText(pem).match(PEM_CERTIFICATE) ?? []) {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      // Go skips a block that does not parse, and so do we.
    }
  }
  return false;
}

function toText(pem: string | Uint8Array): string {
  return typeof pem === "string" ? pem : new TextDecoder().decode(pem);
}

/** Where the TLS secrets are read: the namespace and a Kubernetes client. */
export interface SecretAccess {
  /** The Kubernetes API, when there is one. */
  kube: KubeAccess;
  /** POD_NAMESPACE; else the service account's or the kubeconfig's. */
  namespace?: string;
  /** Cancels the reads. */
  signal?: AbortSignal;
}

/**
 * The scheduler's TLS material, read as planned and checked; an Error says
 * what is missing or wrong, naming the file or the secret and key.
 */
export async function readSchedulerTls(
  settings: TlsSettings,
  access: SecretAccess,
): Promise<SchedulerTls | Error> {
  const fail = (problem: string) =>
    new Error(`scheduler TLS: ${problem}; the scheduler is not asked`);
  const plan = schedulerTlsPlan(settings);
  const problem = planProblem(plan);
  if (problem !== undefined) return fail(problem);
  const secrets = await readPlannedSecrets(plan, access);
  if (secrets instanceof Error) return fail(secrets.message);
  const tls: SchedulerTls = {};
  for (const name of ["cert", "key", "ca"] as const) {
    const piece = plan[name];
    if (piece === undefined) continue;
    if ("secret" in piece) {
      tls[name] = secrets.get(piece.secret)?.[piece.key];
      continue;
    }
    try {
      tls[name] = await Deno.readFile(piece.file);
    } catch (e) {
      return fail(`cannot read ${describePiece(piece)}: ${errorMessage(e)}`);
    }
  }
  const wrong = materialProblem(plan, tls);
  return wrong === undefined ? tls : fail(wrong);
}

/** Each secret the plan names, read once with every key wanted from it. */
async function readPlannedSecrets(
  plan: TlsPlan,
  access: SecretAccess,
): Promise<Map<string, Record<string, Uint8Array>> | Error> {
  const wanted = new Map<string, string[]>();
  for (const piece of [plan.cert, plan.key, plan.ca]) {
    if (piece && "secret" in piece) {
      wanted.set(piece.secret, [...wanted.get(piece.secret) ?? [], piece.key]);
    }
  }
  const read = new Map<string, Record<string, Uint8Array>>();
  if (wanted.size === 0) return read;
  const client = access.kube.client;
  if (!client) {
    return new Error(
      `${SETTINGS.clientTlsSecretName.env} is set but the Kubernetes API is not reachable; mount the files and use the CONTROL_PLANE_*_TLS_*_LOCATION variables instead (without the secret names)`,
    );
  }
  const namespace = access.namespace ?? client.namespace;
  if (namespace === undefined) {
    return new Error(
      `the namespace of the TLS secrets is unknown: set ${SETTINGS.podNamespace.env}`,
    );
  }
  for (const [name, keys] of wanted) {
    const keysOf = await readSecretKeys(
      client,
      namespace,
      name,
      keys,
      access.signal,
    );
    if (keysOf instanceof Error) return keysOf;
    read.set(name, keysOf);
  }
  return read;
}
