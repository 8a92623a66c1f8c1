// The Deno permissions (and V8 flags) the compiled hodometer is built with: the
// one place they are decided. scripts/compile.sh bakes them into the binary;
// `bash scripts/compile.sh --print-permissions` prints them for the README.
//
//   deno run scripts/permissions.ts --flags      one compile flag per line
//   deno run scripts/permissions.ts --markdown   a markdown list with reasons
//
// Paths are fixed when the binary is built (a permission cannot follow an
// environment variable at run time), so the defaults are the places the image
// and the manifests in deploy/kubernetes/ use. A build for other places sets
// HODOMETER_ALLOW_READ / HODOMETER_ALLOW_WRITE (comma-separated absolute paths)
// when running compile.sh; that replaces the default list.

import { type SettingDef, SETTINGS } from "../src/config/settings.ts";

const saDefault = SETTINGS.kubeServiceAccountDir.default;
/** Where a pod's service-account files are mounted (the setting's default). */
export const SERVICE_ACCOUNT_DIR: string = typeof saDefault === "string"
  ? saDefault
  : "/var/run/secrets/kubernetes.io/serviceaccount";

/** STATE_DIR in the container image and in deploy/kubernetes/hodometer.yaml. */
export const IMAGE_STATE_DIR = "/var/lib/hodometer";

/** Variables read besides the settings' own, and why. */
export const EXTRA_ENV: Readonly<Record<string, string>> = {
  HOME: "default state directory (~/.local/state/hodometer)",
  XDG_STATE_HOME: "default state directory ($XDG_STATE_HOME/hodometer)",
  KUBERNETES_SERVICE_HOST: "tells that the agent runs in a pod",
  KUBERNETES_SERVICE_PORT: "the Kubernetes API port in a pod",
};

/** Default readable paths, and why. */
export const DEFAULT_READ: Readonly<Record<string, string>> = {
  [SERVICE_ACCOUNT_DIR]:
    "the pod's service-account token, ca.crt and namespace",
  [IMAGE_STATE_DIR]:
    "the state directory: the persisted cluster id and the receiver's event store",
  "/tmp/certs":
    "control-plane TLS files where Seldon Core 2's chart mounts them, /tmp/certs/cpc and /tmp/certs/cps",
  "/etc/hodometer": "TLS files or a kubeconfig you mount for the agent",
};

/** Default writable paths, and why. */
export const DEFAULT_WRITE: Readonly<Record<string, string>> = {
  [IMAGE_STATE_DIR]:
    "the state directory: the persisted cluster id and the receiver's event store",
};

/**
 * Memory over speed, for a pod given 32 MiB (measured by `deno task bench`,
 * docs/performance.md): 1 MB young-generation semi-spaces (V8 grows them to
 * 8 MB under allocation, mostly empty) together with --single-threaded (V8's
 * worker threads keep several MiB in their own malloc arenas); only the two
 * together lower the collector's peak, from ~39–58 to ~32 MiB at 100 000
 * models. V8 sizes its heap from the host's RAM, not the pod's limit, and puts
 * off full collections: a 16 MB old generation (hodometer's live heap stays
 * under ~10 MB) keeps `run` flat over many cycles and the receiver flat under
 * a fuzz, and --expose-gc lets `run` collect after each cycle. Lite mode was
 * measured too: half the collector's speed for no memory gain.
 */
export const V8_FLAGS = [
  "--max-semi-space-size=1",
  "--single-threaded",
  "--max-old-space-size=16",
  "--expose-gc",
] as const;

export interface Permission {
  flag: string;
  why: string;
}

export type PathOverride = string | undefined;

/** Every environment variable the program reads: the settings' (with aliases) and EXTRA_ENV. */
export function envVariables(): string[] {
  const names = new Set<string>(Object.keys(EXTRA_ENV));
  for (const def of Object.values(SETTINGS) as SettingDef<unknown>[]) {
    names.add(def.env);
    for (const alias of def.envAliases ?? []) names.add(alias);
  }
  return [...names].sort();
}

/** Parses a HODOMETER_ALLOW_READ/WRITE value: comma-separated absolute paths. */
export function parsePathList(
  name: string,
  raw: string,
): string[] | Error {
  const paths = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const bad = paths.filter((p) => !p.startsWith("/") || /[\s"'`$\\]/.test(p));
  if (paths.length === 0) {
    return new Error(`${name} is empty: give comma-separated absolute paths`);
  }
  if (bad.length > 0) {
    return new Error(
      `${name}: not an absolute path without spaces or quotes: ${
        bad.join(", ")
      }`,
    );
  }
  return paths;
}

function pathGrant(
  name: string,
  override: PathOverride,
  defaults: Readonly<Record<string, string>>,
): Record<string, string> | Error {
  if (override === undefined) return { ...defaults };
  const paths = parsePathList(name, override);
  if (paths instanceof Error) return paths;
  return Object.fromEntries(paths.map((p) => [p, `set by ${name}`]));
}

const list = (paths: Record<string, string>) => Object.keys(paths).join(",");
const explain = (paths: Record<string, string>) =>
  Object.entries(paths).map(([p, why]) => `${p} for ${why}`).join("; ");

/** The permission flags, each with the reason it is there. */
export function permissions(
  overrides: { read?: PathOverride; write?: PathOverride } = {},
): Permission[] | Error {
  const read = pathGrant("HODOMETER_ALLOW_READ", overrides.read, DEFAULT_READ);
  if (read instanceof Error) return read;
  const write = pathGrant(
    "HODOMETER_ALLOW_WRITE",
    overrides.write,
    DEFAULT_WRITE,
  );
  if (write instanceof Error) return write;
  return [
    {
      flag: "--allow-net",
      why:
        "the scheduler, the Kubernetes API, the publish URLs and the receiver's listener are all configurable hosts and ports",
    },
    {
      flag: `--allow-env=${envVariables().join(",")}`,
      why:
        "the settings' variables (with aliases) and HOME, XDG_STATE_HOME, KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT",
    },
    {
      flag: "--ignore-env",
      why:
        "any other variable reads as unset instead of stopping the program: libraries probe optional ones (GRPC_TRACE, grpc_proxy, ...) and none of them is visible",
    },
    { flag: `--allow-read=${list(read)}`, why: explain(read) },
    { flag: `--allow-write=${list(write)}`, why: explain(write) },
    {
      flag: "--deny-import",
      why:
        "no code is loaded from the network at run time: the program is embedded whole",
    },
    {
      flag: "--no-prompt",
      why: "a denied access is an error, never a question",
    },
    {
      flag: "--no-code-cache",
      why:
        "the runtime would otherwise write a V8 code cache into the temp directory on first start, outside the permissions above",
    },
  ];
}

/** Everything the compile passes besides target and output: permissions, then V8 flags. */
export function compileFlags(
  overrides: { read?: PathOverride; write?: PathOverride } = {},
): string[] | Error {
  const perms = permissions(overrides);
  if (perms instanceof Error) return perms;
  return [
    ...perms.map((p) => p.flag),
    `--v8-flags=${V8_FLAGS.join(",")}`,
  ];
}

/** The README's list: what the binary may do, and that nothing else is granted. */
export function permissionsMarkdown(perms: Permission[]): string {
  const lines = perms.map((p) => `- \`${p.flag}\`: ${p.why}.`);
  lines.push(
    `- \`--v8-flags=${
      V8_FLAGS.join(",")
    }\`: memory over speed (small young generation, no optimising JIT, no WebAssembly).`,
    "- Not granted: `--allow-run` (no subprocesses, so no kubeconfig exec credential plugins), `--allow-ffi`, `--allow-sys`; no read or write anywhere else.",
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const overrides = {
    read: Deno.env.get("HODOMETER_ALLOW_READ"),
    write: Deno.env.get("HODOMETER_ALLOW_WRITE"),
  };
  const mode = Deno.args[0];
  const perms = permissions(overrides);
  const flags = compileFlags(overrides);
  if (perms instanceof Error || flags instanceof Error) {
    const e = perms instanceof Error ? perms : flags as Error;
    console.error(`hodometer compile: ${e.message}`);
    Deno.exit(2);
  }
  if (mode === "--flags") console.log(flags.join("\n"));
  else if (mode === "--markdown") console.log(permissionsMarkdown(perms));
  else {
    console.error("usage: permissions.ts --flags | --markdown");
    Deno.exit(2);
  }
}
