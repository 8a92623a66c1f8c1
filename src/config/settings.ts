// The one table of settings: environment variable, flag, meaning, default
// (with its unit) and parser. Subcommands pick the keys they use; help text,
// docs/configuration.md and validation come from here, and so does every
// default a module falls back on (`SETTINGS.maxBodyBytes.default`): each
// default's value is written here and nowhere else (tests/defaults_test.ts).

import {
  durationRange,
  normalizeUuid,
  parseBoolean,
  parseChoice,
  type Parsed,
  parseDurationWithin,
  parseHttpUrl,
  parseInteger,
  parseNonEmpty,
  parsePort,
  parseUrlList,
} from "./parsers.ts";
import {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
  METRICS_LEVELS,
  type MetricsLevel,
  RECORD_LEVELS,
  type RecordLevel,
} from "./levels.ts";
import {
  DAY_MS,
  HOUR_MS,
  KiB,
  MiB,
  MINUTE_MS,
  SECOND_MS,
} from "../runtime/units.ts";

/** Environment variables by name, as Deno.env.toObject() gives them. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The unit of a number setting's value, which says how its default reads in
 * help: `ms` as a duration (`10000` reads `10s`), `bytes` with its size
 * (`1048576 bytes (1 MiB)`). A count or a port has none.
 */
export type Unit = "ms" | "bytes";

/** One setting: where it is read from, its default, and how it is parsed. */
export interface SettingDef<T> {
  /** Primary environment variable. */
  env: string;
  /** Other accepted environment variables, consulted after `env`. */
  envAliases?: readonly string[];
  /** Long flag name without dashes. */
  flag: string;
  /** Placeholder for the flag's argument; absent for a boolean switch. */
  arg?: string;
  /** What it does, for `--help` and docs/configuration.md. */
  description: string;
  /**
   * The value when neither flag nor variable gives one; a function computes
   * it from the environment.
   */
  default: T | ((env: Env) => T);
  /** The unit of a number's value (and of its default). */
  unit?: Unit;
  /**
   * How the default reads in help instead of its value, when it has none to
   * show: unset, computed from the environment, or a stand-in for a token.
   * Never a value written again (tests/defaults_test.ts).
   */
  defaultText?: string;
  /** What the default's value means, said after it in help, e.g. "keep forever". */
  defaultNote?: string;
  /** Reads the flag's or variable's text; an error says what is accepted. */
  parse: (raw: string) => Parsed<T>;
  /**
   * For a path: when the other settings need the file, why (the path must
   * then name a readable file); undefined when it is not used at all.
   */
  neededFile?: (
    config: Readonly<Record<string, unknown>>,
  ) => string | undefined;
  /** Invalid values are dropped with a warning instead of stopping start-up. */
  warnOnly?: boolean;
  /** A credential: its value is never shown, not even in an error. */
  secret?: boolean;
}

/**
 * A setting as written: its default keeps its own type (`D`, the value's type
 * unless computed), so that `SETTINGS.maxBodyBytes.default` is a number.
 */
const setting = <T, D extends T | ((env: Env) => T) = T>(
  def: SettingDef<T> & { default: D },
): SettingDef<T> & { default: D } => def;

/** Comma-separated project tokens (visible ASCII), spaces around them trimmed. */
function parseTokenList(raw: string): Parsed<string[]> {
  const tokens = raw.split(",").map((t) => t.trim()).filter((t) => t !== "");
  return tokens.every((t) => /^[\x21-\x7e]{1,255}$/.test(t))
    ? { ok: true, value: tokens }
    : {
      ok: false,
      accepted:
        "comma-separated project tokens of 1 to 255 visible ASCII characters",
    };
}
const optionalString = (raw: string): Parsed<string | undefined> =>
  parseNonEmpty(raw);

/** Seldon's public Mixpanel project token, as the reference sends it. */
const SELDON_TOKEN = "e943e8a2ebd1352338ecac1f9fde8c7c";

/** STATE_DIR's default: under XDG_STATE_HOME, else ~/.local/state. */
function defaultStateDir(env: Env): string {
  if (env.XDG_STATE_HOME) return `${env.XDG_STATE_HOME}/hodometer`;
  return `${env.HOME ?? "."}/.local/state/hodometer`;
}

/** A number setting as written: its default a number, in its unit. */
type NumberDef = Omit<SettingDef<number>, "parse" | "arg" | "unit"> & {
  default: number;
};

/** A duration setting whose range is part of its parser, its help and docs/configuration.md. */
const durationSetting = (
  def: NumberDef & { minMs: number; maxMs: number },
): SettingDef<number> & { default: number } => {
  const { minMs, maxMs, ...rest } = def;
  return {
    ...rest,
    arg: "<duration>",
    unit: "ms",
    description: `${def.description} (${durationRange(minMs, maxMs)})`,
    parse: parseDurationWithin(minMs, maxMs),
  };
};

/** A size in bytes, a whole number from `min` to `max`. */
const bytesSetting = (
  def: NumberDef & { min: number; max: number },
): SettingDef<number> & { default: number } => {
  const { min, max, ...rest } = def;
  return {
    ...rest,
    arg: "<bytes>",
    unit: "bytes",
    parse: parseInteger(min, max),
  };
};

/** Stored events are swept hourly; a century is "keep", said differently. */
const RETENTION_RANGE = { minMs: MINUTE_MS, maxMs: 36_500 * DAY_MS } as const;

/** Timeouts are bounded so that every one fits a single timer. */
const TIMEOUT_RANGE = { minMs: 100, maxMs: HOUR_MS } as const;

/**
 * The control-plane TLS files are read only when they are used, as the
 * reference does: the stock chart names all of them with PLAINTEXT and mounts
 * none. With SSL and CONTROL_PLANE_CLIENT_TLS_SECRET_NAME, every piece comes
 * from the secrets and a location only names its key there (Seldon's TLS
 * code: collect/scheduler_tls.ts); without it, every piece from the files.
 */
const tlsFile = (
  env: string,
  flag: string,
  description: string,
  neededFile: (c: Readonly<Record<string, unknown>>) => string | undefined,
) =>
  setting<string | undefined>({
    env,
    flag,
    arg: "<file>",
    description,
    default: undefined,
    defaultText: "unset",
    parse: optionalString,
    neededFile: (c) =>
      c.controlPlaneSecurityProtocol === "SSL" ? neededFile(c) : undefined,
  });

const clientMaterialFile = (c: Readonly<Record<string, unknown>>) =>
  c.clientTlsSecretName === undefined
    ? "CONTROL_PLANE_SECURITY_PROTOCOL=SSL and CONTROL_PLANE_CLIENT_TLS_SECRET_NAME is unset"
    : undefined;

/** In a secret, a location's file name is the key (tls.crt when unset). */
const keyInSecret = (fallback: string) =>
  `; with CONTROL_PLANE_CLIENT_TLS_SECRET_NAME, its file name is the key read from the secret (${fallback} when unset)`;

/**
 * Every setting of every subcommand, by key: its variable, flag, default and
 * parser. A command's flags, the resolver and docs/configuration.md all read
 * this table.
 */
export const SETTINGS = {
  metricsLevel: setting<MetricsLevel>({
    env: "METRICS_LEVEL",
    flag: "level",
    arg: "<level>",
    description: "level of detail: cluster, resource or feature",
    default: "feature",
    parse: parseChoice(METRICS_LEVELS),
  }),
  schedulerHost: setting<string>({
    env: "SCHEDULER_HOST",
    flag: "scheduler-host",
    arg: "<host>",
    description: "host name of the Seldon Core 2 scheduler",
    default: "seldon-scheduler",
    parse: parseNonEmpty,
  }),
  schedulerPort: setting<number>({
    env: "SCHEDULER_PLAINTXT_PORT",
    envAliases: ["SCHEDULER_PORT"],
    flag: "scheduler-port",
    arg: "<port>",
    description:
      "scheduler plaintext gRPC port (SCHEDULER_PORT is accepted too)",
    default: 9004,
    parse: parsePort,
  }),
  schedulerTlsPort: setting<number>({
    env: "SCHEDULER_TLS_PORT",
    flag: "scheduler-tls-port",
    arg: "<port>",
    description: "scheduler TLS gRPC port, used when control-plane TLS is on",
    default: 9044,
    parse: parsePort,
  }),
  schedulerTimeoutMs: durationSetting({
    env: "SCHEDULER_TIMEOUT",
    flag: "scheduler-timeout",
    description: "deadline of each scheduler call",
    default: 30 * SECOND_MS,
    ...TIMEOUT_RANGE,
  }),
  controlPlaneSecurityProtocol: setting<"PLAINTEXT" | "SSL">({
    env: "CONTROL_PLANE_SECURITY_PROTOCOL",
    flag: "control-plane-security-protocol",
    arg: "<protocol>",
    description:
      "SSL (exactly, as Seldon's components read it) for TLS to the scheduler; PLAINTEXT, or any other value with a warning, for plaintext",
    default: "PLAINTEXT",
    // As Seldon's TLS code (components/tls/pkg/tls/util.go:49-55, 83-84):
    // only "SSL" exactly means TLS; "ssl" leaves the scheduler without its
    // TLS port. Anything else is plaintext, said, not fatal.
    parse: (raw) => {
      if (raw === "SSL") return { ok: true, value: "SSL" };
      if (raw.trim().toUpperCase() === "PLAINTEXT") {
        return { ok: true, value: "PLAINTEXT" };
      }
      return {
        ok: true,
        value: "PLAINTEXT",
        warning:
          'is neither SSL nor PLAINTEXT (Seldon takes TLS from "SSL" only, in capitals): the scheduler is reached in plaintext',
      };
    },
  }),
  clientTlsCrt: tlsFile(
    "CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION",
    "client-tls-crt",
    `client certificate file for mTLS to the scheduler (read only with SSL)${
      keyInSecret("tls.crt")
    }`,
    clientMaterialFile,
  ),
  clientTlsKey: tlsFile(
    "CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION",
    "client-tls-key",
    `client private key file for mTLS to the scheduler (read only with SSL)${
      keyInSecret("tls.key")
    }`,
    clientMaterialFile,
  ),
  clientTlsCa: tlsFile(
    "CONTROL_PLANE_CLIENT_TLS_CA_LOCATION",
    "client-tls-ca",
    `CA file that validates the scheduler when the server's CA is not given (read only with SSL)${
      keyInSecret("ca.crt")
    }`,
    (c) =>
      c.clientTlsSecretName === undefined && c.serverTlsCa === undefined
        ? "CONTROL_PLANE_SECURITY_PROTOCOL=SSL and neither CONTROL_PLANE_CLIENT_TLS_SECRET_NAME nor CONTROL_PLANE_SERVER_TLS_CA_LOCATION is set"
        : undefined,
  ),
  serverTlsCa: tlsFile(
    "CONTROL_PLANE_SERVER_TLS_CA_LOCATION",
    "server-tls-ca",
    "CA file that validates the scheduler's certificate (read only with SSL); with CONTROL_PLANE_SERVER_TLS_SECRET_NAME, its file name is the key read from that secret (ca.crt when unset)",
    clientMaterialFile,
  ),
  clientTlsSecretName: setting<string | undefined>({
    env: "CONTROL_PLANE_CLIENT_TLS_SECRET_NAME",
    flag: "client-tls-secret-name",
    arg: "<name>",
    description:
      "Kubernetes TLS secret holding the client certificate, its key and CA (in POD_NAMESPACE); set, no TLS file is read",
    default: undefined,
    defaultText: "unset",
    parse: optionalString,
  }),
  serverTlsSecretName: setting<string | undefined>({
    env: "CONTROL_PLANE_SERVER_TLS_SECRET_NAME",
    flag: "server-tls-secret-name",
    arg: "<name>",
    description:
      "Kubernetes TLS secret holding the CA that validates the scheduler (in POD_NAMESPACE); used only with CONTROL_PLANE_CLIENT_TLS_SECRET_NAME, as by Seldon's components",
    default: undefined,
    defaultText: "unset",
    parse: optionalString,
  }),
  podNamespace: setting<string | undefined>({
    env: "POD_NAMESPACE",
    flag: "pod-namespace",
    arg: "<namespace>",
    description:
      "namespace of this pod (for TLS secrets and the cluster-id ConfigMap)",
    default: undefined,
    defaultText: "unset",
    parse: optionalString,
  }),
  kubeconfig: setting<string | undefined>({
    env: "KUBECONFIG",
    flag: "kubeconfig",
    arg: "<file>",
    description:
      "kubeconfig for Kubernetes access outside a pod (KUBECONFIG may list several, colon-separated)",
    default: undefined,
    defaultText: "~/.kube/config when it exists",
    parse: optionalString,
  }),
  kubeServiceAccountDir: setting<string>({
    env: "KUBERNETES_SERVICEACCOUNT_DIR",
    flag: "kube-serviceaccount-dir",
    arg: "<dir>",
    description:
      "where the pod's service-account token, ca.crt and namespace are mounted",
    default: "/var/run/secrets/kubernetes.io/serviceaccount",
    parse: parseNonEmpty,
  }),
  kubeTimeoutMs: durationSetting({
    env: "KUBERNETES_TIMEOUT",
    flag: "kube-timeout",
    description: "timeout of each Kubernetes API request",
    default: 10 * SECOND_MS,
    ...TIMEOUT_RANGE,
  }),
  publishUrl: setting<string>({
    env: "PUBLISH_URL",
    flag: "publish-url",
    arg: "<url>",
    description: "Seldon's endpoint",
    default: "http://hodometer.seldon.io",
    parse: parseHttpUrl,
  }),
  extraPublishUrls: setting<string[]>({
    env: "EXTRA_PUBLISH_URLS",
    flag: "extra-publish-urls",
    arg: "<urls>",
    description: "comma-separated extra endpoints to publish to",
    default: [],
    defaultText: "none",
    parse: parseUrlList,
  }),
  doNotTrack: setting<boolean>({
    env: "DO_NOT_TRACK",
    flag: "do-not-track",
    description: "skip Seldon's PUBLISH_URL; extra URLs still receive events",
    default: false,
    parse: parseBoolean,
  }),
  token: setting<string>({
    env: "PUBLISH_TOKEN",
    flag: "token",
    arg: "<token>",
    description: "Mixpanel project token put in each event",
    default: SELDON_TOKEN,
    defaultText: "Seldon's public token",
    parse: parseNonEmpty,
  }),
  publishTimeoutMs: durationSetting({
    env: "PUBLISH_TIMEOUT",
    flag: "publish-timeout",
    description: "timeout of each delivery attempt",
    default: 10 * SECOND_MS,
    ...TIMEOUT_RANGE,
  }),
  intervalMs: durationSetting({
    env: "PUBLISH_INTERVAL",
    flag: "interval",
    description: "time between collections (±5% jitter)",
    default: 8 * HOUR_MS,
    minMs: SECOND_MS,
    maxMs: 365 * DAY_MS,
  }),
  clusterId: setting<string | undefined>({
    env: "CLUSTER_ID",
    flag: "cluster-id",
    arg: "<uuid>",
    description:
      "cluster identifier to use; anything but a UUID is ignored with a warning",
    default: undefined,
    defaultText: "persisted random UUID",
    parse: (raw) => {
      const id = normalizeUuid(raw);
      return id ? { ok: true, value: id } : {
        ok: false,
        accepted:
          "a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, {...}, urn:uuid:... or 32 hex digits); ignoring it",
      };
    },
    warnOnly: true,
  }),
  stateDir: setting<string, (env: Env) => string>({
    env: "STATE_DIR",
    flag: "state-dir",
    arg: "<dir>",
    description:
      "directory for the persisted cluster id and the receiver's store",
    default: defaultStateDir,
    defaultText: "$XDG_STATE_HOME/hodometer, else ~/.local/state/hodometer",
    parse: parseNonEmpty,
  }),
  logLevel: setting<LogLevel>({
    env: "LOG_LEVEL",
    flag: "log-level",
    arg: "<level>",
    description:
      "trace, debug, info, warn (warning), error, fatal or panic (as fatal)",
    default: "info",
    // The reference's logger (logrus) levels, panic included.
    parse: parseChoice(LOG_LEVELS, { warn: "warning", panic: "fatal" }),
  }),
  logFormat: setting<LogFormat>({
    env: "LOG_FORMAT",
    flag: "log-format",
    arg: "<format>",
    description: "text, or json for JSON lines",
    default: "text",
    parse: parseChoice(LOG_FORMATS),
  }),
  listenHost: setting<string>({
    env: "LISTEN_HOST",
    flag: "listen-host",
    arg: "<host>",
    description: "address the receiver listens on",
    default: "::",
    defaultNote:
      "every interface, IPv4 and IPv6, as Go's :8001; IPv4 only on a host without IPv6",
    parse: parseNonEmpty,
  }),
  listenPort: setting<number>({
    env: "LISTEN_PORT",
    flag: "listen-port",
    arg: "<port>",
    description: "receiver port (0 picks a free one)",
    default: 8001,
    parse: parseInteger(0, 65535),
  }),
  recordLevel: setting<RecordLevel>({
    env: "RECORD_LEVEL",
    flag: "record-level",
    arg: "<level>",
    description: "what the receiver records: none, summary or all",
    default: "summary",
    parse: parseChoice(RECORD_LEVELS),
  }),
  maxEvents: setting<number>({
    env: "MAX_EVENTS",
    flag: "max-events",
    arg: "<n>",
    description:
      "events kept in memory with RECORD_LEVEL=all (oldest dropped first)",
    default: 10_000,
    parse: parseInteger(1, 10_000_000),
  }),
  maxEventsBytes: bytesSetting({
    env: "MAX_EVENTS_BYTES",
    flag: "max-events-bytes",
    description:
      "bytes the events kept in memory with RECORD_LEVEL=all may take (oldest dropped first)",
    default: 16 * MiB,
    min: 64 * KiB,
    max: 1024 * MiB,
  }),
  store: setting<string | undefined>({
    env: "STORE",
    flag: "store",
    arg: "<path>",
    description:
      "SQLite file for RECORD_LEVEL=all events; :memory: keeps them in memory",
    default: undefined,
    defaultText: "$STATE_DIR/events.db",
    parse: parseNonEmpty,
  }),
  retentionMs: setting<number>({
    env: "RETENTION",
    flag: "retention",
    arg: "<duration>",
    unit: "ms",
    description:
      `delete stored events, and forget clusters, received more than this long ago; 0 keeps them (else ${
        durationRange(RETENTION_RANGE.minMs, RETENTION_RANGE.maxMs)
      })`,
    default: 0,
    defaultNote: "keep forever",
    parse: (raw) =>
      /^\s*0*\s*$/.test(raw) ? { ok: true, value: 0 } : parseDurationWithin(
        RETENTION_RANGE.minMs,
        RETENTION_RANGE.maxMs,
      )(raw),
  }),
  acceptedTokens: setting<string[]>({
    env: "ACCEPTED_TOKENS",
    flag: "accepted-tokens",
    arg: "<tokens>",
    description:
      "comma-separated project tokens the receiver records events of; others get 401",
    default: [],
    defaultText: "any token",
    parse: parseTokenList,
  }),
  readToken: setting<string | undefined>({
    env: "READ_TOKEN",
    flag: "read-token",
    arg: "<token>",
    description:
      "token that /events, /metrics and the page ask for (Bearer, or Basic password); prefer READ_TOKEN_FILE",
    default: undefined,
    defaultText: "unset (open)",
    parse: optionalString,
    secret: true,
  }),
  readTokenFile: setting<string | undefined>({
    env: "READ_TOKEN_FILE",
    flag: "read-token-file",
    arg: "<file>",
    description:
      "file holding the read token (as Prometheus' credentials_file)",
    default: undefined,
    defaultText: "unset",
    parse: optionalString,
    neededFile: () => "it holds the read token",
  }),
  headerTimeoutMs: durationSetting({
    env: "HEADER_TIMEOUT",
    flag: "header-timeout",
    description:
      "time a new connection has to send its first request's head (closed after it)",
    default: 10 * SECOND_MS,
    minMs: 100,
    maxMs: 10 * MINUTE_MS,
  }),
  bodyTimeoutMs: durationSetting({
    env: "BODY_TIMEOUT",
    flag: "body-timeout",
    description:
      "time a request body has to arrive (408 after it); also how long an answer may go unread",
    default: 10 * SECOND_MS,
    minMs: 100,
    maxMs: 10 * MINUTE_MS,
  }),
  idleTimeoutMs: durationSetting({
    env: "IDLE_TIMEOUT",
    flag: "idle-timeout",
    description:
      "after an answer, time a kept-alive connection has to send the next request's head (closed after it)",
    default: 5 * SECOND_MS,
    minMs: 100,
    maxMs: HOUR_MS,
  }),
  gracePeriodMs: durationSetting({
    env: "GRACE_PERIOD",
    flag: "grace-period",
    description:
      "on SIGTERM, how long requests in flight may take before the receiver exits regardless",
    default: 10 * SECOND_MS,
    minMs: SECOND_MS,
    maxMs: 10 * MINUTE_MS,
  }),
  maxConnections: setting<number>({
    env: "MAX_CONNECTIONS",
    flag: "max-connections",
    arg: "<n>",
    description:
      "connections open at once; past it the one waiting longest for a request is closed to make room (503 when every one has a request in flight)",
    default: 256,
    parse: parseInteger(1, 100_000),
  }),
  maxBodyBytes: bytesSetting({
    env: "MAX_BODY_BYTES",
    flag: "max-body-bytes",
    description:
      "largest request body, on the wire and decompressed (413 past it)",
    default: MiB,
    min: KiB,
    max: 64 * MiB,
  }),
  maxClusters: setting<number>({
    env: "MAX_CLUSTERS",
    flag: "max-clusters",
    arg: "<n>",
    description:
      "clusters held for /metrics and the page (least recently seen forgotten first)",
    default: 10_000,
    parse: parseInteger(1, 1_000_000),
  }),
} as const;

/** A setting's key in SETTINGS (and its property in a resolved Config). */
export type SettingKey = keyof typeof SETTINGS;
/** The type of a setting's value once resolved, e.g. `number` for a duration. */
export type SettingValue<K extends SettingKey> = typeof SETTINGS[K] extends
  SettingDef<infer T> ? T
  : never;
/** The resolved values of the settings `K`, by key. */
export type Config<K extends SettingKey> = { [P in K]: SettingValue<P> };

/** Settings every subcommand takes. */
export const COMMON_KEYS = [
  "logLevel",
  "logFormat",
] as const satisfies readonly SettingKey[];
