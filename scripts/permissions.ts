// The Deno permissions and V8 flags hodometer ships with: the one place they
// are decided. scripts/compile.ts bakes them into the binary (and prints them:
// `bash scripts/compile.sh --print-flags | --print-permissions`); `deno task
// hodometer` (which runs this file for them), the demo, the benchmark and every
// process test run main.ts with exactly the same ones (shippedRunArgs,
// shippedTaskArgs), so what is tested is what ships.
//
// Files are read and written wherever the settings say: a kubeconfig, TLS
// files, the state directory and the receiver's store are paths a user picks
// when running the binary, and a baked-in permission cannot follow a setting.
// A build for fixed places only sets HODOMETER_ALLOW_READ / HODOMETER_ALLOW_WRITE
// (comma-separated absolute paths) when running compile.sh.

import { type SettingDef, SETTINGS } from "../src/config/settings.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Variables read besides the settings' own, and why. */
export const EXTRA_ENV: Readonly<Record<string, string>> = {
  HOME:
    "default state directory (~/.local/state/hodometer) and kubeconfig (~/.kube/config)",
  XDG_STATE_HOME: "default state directory ($XDG_STATE_HOME/hodometer)",
  KUBERNETES_SERVICE_HOST: "tells that the agent runs in a pod",
  KUBERNETES_SERVICE_PORT: "the Kubernetes API port in a pod",
};

/** What the program reads, and why: docs/security.md's honest account of --allow-read. */
export const READS =
  "the kubeconfig (--kubeconfig, each file KUBECONFIG lists, else ~/.kube/config) and the certificate, key and token files it names; the control-plane TLS files (only with CONTROL_PLANE_SECURITY_PROTOCOL=SSL); the pod's service-account token, ca.crt and namespace; the cluster id in the state directory; the receiver's event store";

/** What the program writes, and why: docs/security.md's honest account of --allow-write. */
export const WRITES =
  "the cluster id in the state directory (STATE_DIR), and the receiver's event store (--store, with its -wal and -shm files); nothing else";

/**
 * Memory over speed, for a pod (measured by `deno task bench`,
 * docs/performance.md): 1 MB young-generation semi-spaces together with
 * --single-threaded (V8's worker threads keep several MiB in their own malloc
 * arenas). The old generation may grow to 96 MB: @kubernetes/client-node, on
 * the kubeconfig path, holds ~40 MB of heap by itself, so the 16 MB this used
 * to be killed that path; while the agent collects, src/runtime/heap_pacer.ts keeps
 * the heap near its live size instead (V8 alone would let garbage pile up to
 * several times that, since it sizes its heap from the host, not the pod).
 * --expose-gc is what the pacer and `run` (after each cycle) collect with.
 */
export const V8_FLAGS = [
  "--max-semi-space-size=1",
  "--single-threaded",
  "--max-old-space-size=96",
  "--expose-gc",
] as const;

export interface Permission {
  flag: string;
  why: string;
}

export type PathOverride = string | undefined;

export interface PathOverrides {
  read?: PathOverride;
  write?: PathOverride;
}

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

/** `--allow-<kind>` for any path, or for the paths of an override. */
function pathGrant(
  kind: "read" | "write",
  name: string,
  override: PathOverride,
  why: string,
): Permission | Error {
  if (override === undefined) {
    return {
      flag: `--allow-${kind}`,
      why:
        `any path, because the paths are settings chosen at run time: ${why}`,
    };
  }
  const paths = parsePathList(name, override);
  if (paths instanceof Error) return paths;
  return {
    flag: `--allow-${kind}=${paths.join(",")}`,
    why: `only these paths (set by ${name} when this binary was built): ${why}`,
  };
}

/** The permission flags, each with the reason it is there. */
export function permissions(
  overrides: PathOverrides = {},
): Permission[] | Error {
  const read = pathGrant(
    "read",
    "HODOMETER_ALLOW_READ",
    overrides.read,
    READS,
  );
  if (read instanceof Error) return read;
  const write = pathGrant(
    "write",
    "HODOMETER_ALLOW_WRITE",
    overrides.write,
    WRITES,
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
      flag: "--allow-sys=systemMemoryInfo",
      why:
        "the memory limit of the agent's cgroup (a pod's limit), which sizes its heap pacing (src/runtime/cgroup_memory.ts): Deno reads nothing under /proc or /sys unless every permission is granted, so the runtime's own reading (node:process constrainedMemory) is used, and it needs this; it also tells the host's memory, nothing else",
    },
    {
      flag: "--ignore-env",
      why:
        "any other variable reads as unset instead of stopping the program: libraries probe optional ones (GRPC_TRACE, grpc_proxy, ...) and none of them is visible",
    },
    read,
    write,
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
        "the runtime would otherwise write a V8 code cache into the temp directory on first start",
    },
  ];
}

/** Everything the compile passes besides target and output: permissions, then V8 flags. */
export function compileFlags(overrides: PathOverrides = {}): string[] | Error {
  const perms = permissions(overrides);
  if (perms instanceof Error) return perms;
  return [...perms.map((p) => p.flag), `--v8-flags=${V8_FLAGS.join(",")}`];
}

/** The flags of the default build (no path overrides). */
export function shippedFlags(): string[] {
  const flags = compileFlags();
  if (flags instanceof Error) throw flags;
  return flags;
}

/**
 * `deno run` arguments that run main.ts (or `main`) exactly as the binary
 * runs: its permissions and its V8 flags, nothing broader.
 */
export function shippedRunArgs(
  main: string = MAIN,
  options: { v8Flags?: string } = {},
): string[] {
  const flags = shippedFlags();
  if (options.v8Flags !== undefined) {
    // Only the benchmark asks, to compare other V8 flags with the shipped ones.
    const at = flags.findIndex((f) => f.startsWith("--v8-flags="));
    flags.splice(
      at,
      1,
      ...(options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : []),
    );
  }
  return ["run", ...flags, main];
}

/**
 * What `deno run` takes to run main.ts as shipped, relative to the repository
 * (where `deno task` runs): printed by this file when run, for the task.
 */
export function shippedTaskArgs(): string[] {
  return [...shippedFlags(), "main.ts"];
}

/**
 * deno.json's `hodometer` task: main.ts from source, as shipped. Deno echoes a
 * task's command before running it, so the flags are not written into it (they
 * made a line of over 1 000 characters): the task asks this file for them
 * (`deno run $(deno run scripts/permissions.ts)`). Were that ever to print
 * nothing, `deno run` would be left with the task's arguments alone: no
 * main.ts and no permission, never a broader run.
 */
export function shippedTask(): string {
  return "deno run $(deno run --no-prompt scripts/permissions.ts)";
}

/**
 * One item of docs/security.md's list. A flag with a value (`--allow-env=A,B,…`) is
 * named, then its values are listed one code span each, so that the line
 * wraps like prose.
 */
function permissionItem(flag: string, why: string): string {
  const eq = flag.indexOf("=");
  if (eq < 0) return `- \`${flag}\`: ${why}.`;
  const values = flag.slice(eq + 1).split(",").map((v) => `\`${v}\``);
  return `- \`${flag.slice(0, eq)}\`: ${why}; its value, comma-separated: ${
    values.join(", ")
  }.`;
}

/** docs/security.md's list: what the binary may do, and that nothing else is granted. */
export function permissionsMarkdown(perms: Permission[]): string {
  return [
    ...perms.map((p) => permissionItem(p.flag, p.why)),
    permissionItem(
      `--v8-flags=${V8_FLAGS.join(",")}`,
      "memory over speed (small young generation, no V8 worker threads, a 96 MB old generation paced to its live size while the agent collects; `gc()` for that pacing and after each `run` cycle)",
    ),
    "- Not granted: `--allow-run` (no subprocesses, so no kubeconfig exec credential plugins), `--allow-ffi`, `--allow-sys` for anything but `systemMemoryInfo`, and not every permission at once (so nothing under /proc or /sys is read).",
  ].join("\n");
}

if (import.meta.main) console.log(shippedTaskArgs().join(" "));
