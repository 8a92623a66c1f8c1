// The memory limit of the cgroup this process runs in: a pod's (or a
// container's, or a systemd unit's) limit, read once at start so that what
// is ours to size (the heap pacer) is sized from it.
//
// The files say it: /proc/self/cgroup names the process's cgroup in each
// hierarchy, /proc/self/mountinfo where each hierarchy is mounted (a
// container sees its own cgroup as the root of the mount), and the limit is
// memory.max (cgroup v2) or memory.limit_in_bytes (v1) of that cgroup or of
// any cgroup above it, whichever is smallest. The parsing is pure (below);
// readMemoryLimit does the I/O.
//
// Deno (since 1.43) lets a program read nothing under /proc or /sys without
// --allow-all, whatever --allow-read says (denoland/deno#27564), and the
// binary is never given --allow-all. There the runtime reads the limit for
// us: node:process's constrainedMemory(), which needs only
// --allow-sys=systemMemoryInfo and reads the process's own cgroup (v1 or v2),
// not those above it. The files are read where the runtime allows it
// (`deno run -A`, a future runtime).

import process from "node:process";
import { errorMessage } from "./error_message.ts";

/** One line of /proc/self/cgroup: `id:controllers:path`. */
export interface CgroupEntry {
  /** 0 for the v2 (unified) hierarchy. */
  id: number;
  /** v1 controllers of the hierarchy (`memory`); empty for v2. */
  controllers: string[];
  /** The cgroup's path from the hierarchy's root, e.g. `/kubepods/pod1/c1`. */
  path: string;
}

/** A mounted cgroup hierarchy, from /proc/self/mountinfo. */
export interface CgroupMount {
  /** `cgroup2` mounts the unified (v2) hierarchy, `cgroup` a v1 one. */
  version: "v1" | "v2";
  /** The cgroup at the mount point (the container's own, in a container). */
  root: string;
  /** Where the hierarchy is mounted, e.g. `/sys/fs/cgroup/memory`. */
  mountPoint: string;
  /** v1 controllers mounted there (from the super options); empty for v2. */
  controllers: string[];
}

/** A limit found, and where. */
export interface MemoryLimit {
  /** The limit, in bytes. */
  bytes: number;
  /** The file it was read from, or `runtime` (constrainedMemory()). */
  source: string;
}

/** v1 writes "no limit" as the largest page-aligned 64-bit value; anything this large is none. */
const UNLIMITED_FROM = 2 ** 62;

/** The lines of /proc/self/cgroup; malformed lines are skipped. */
export function parseProcCgroup(text: string): CgroupEntry[] {
  const entries: CgroupEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, id, controllers, path] = m as unknown as [
      string,
      string,
      string,
      string,
    ];
    entries.push({
      id: Number(id),
      controllers: controllers === "" ? [] : controllers.split(","),
      path,
    });
  }
  return entries;
}

/** Mountinfo escapes spaces and the like as octal (`\040`). */
function unescapeMountField(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, oct: string) => String.fromCharCode(parseInt(oct, 8)),
  );
}

/**
 * The cgroup mounts in /proc/self/mountinfo: `id parent major:minor root
 * mountpoint options [optional fields] - fstype source superoptions`.
 */
export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 3) continue;
    const fsType = fields[dash + 1];
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    const superOptions = (fields[dash + 3] ?? "").split(",");
    mounts.push({
      version: fsType === "cgroup2" ? "v2" : "v1",
      root: unescapeMountField(fields[3] ?? "/"),
      mountPoint: unescapeMountField(fields[4] ?? ""),
      controllers: fsType === "cgroup2" ? [] : superOptions,
    });
  }
  return mounts;
}

/** `/a/b/c` and its ancestors down to (and with) `root`, innermost first. */
function pathsUpTo(path: string, root: string): string[] {
  const out: string[] = [];
  let p = path.replace(/\/+$/, "") || "/";
  const top = root.replace(/\/+$/, "") || "/";
  for (;;) {
    out.push(p);
    if (p === top || p === "/") break;
    p = p.slice(0, p.lastIndexOf("/")) || "/";
  }
  return out;
}

/** The mounted directory of `path` under `mount`, or undefined when it is not below the mount's root. */
function mountedDir(mount: CgroupMount, path: string): string | undefined {
  const root = mount.root.replace(/\/+$/, "");
  if (root !== "" && path !== root && !path.startsWith(`${root}/`)) {
    return undefined;
  }
  const rest = path.slice(root.length).replace(/^\/+/, "");
  const base = mount.mountPoint.replace(/\/+$/, "");
  return rest === "" ? base : `${base}/${rest}`;
}

/**
 * The files that may hold the process's memory limit, innermost cgroup first
 * (v2 before v1 when both are mounted): each is read and the smallest limit
 * wins. A cgroup path outside the mount's root (a container without its own
 * cgroup namespace sees the host's path) falls back to the mount's root,
 * which is then the container's own cgroup.
 */
export function limitFiles(
  cgroups: readonly CgroupEntry[],
  mounts: readonly CgroupMount[],
): string[] {
  const files: string[] = [];
  const add = (mount: CgroupMount, path: string, file: string) => {
    const inside = mountedDir(mount, path) !== undefined ? path : mount.root;
    for (const p of pathsUpTo(inside, mount.root)) {
      files.push(`${mountedDir(mount, p)}/${file}`);
    }
  };
  for (const entry of cgroups) {
    if (entry.id === 0 && entry.controllers.length === 0) {
      const mount = mounts.find((m) => m.version === "v2");
      if (mount) add(mount, entry.path, "memory.max");
    } else if (entry.controllers.includes("memory")) {
      const mount = mounts.find((m) =>
        m.version === "v1" && m.controllers.includes("memory")
      );
      if (mount) add(mount, entry.path, "memory.limit_in_bytes");
    }
  }
  return [...new Set(files)];
}

/** A limit file's content: bytes, undefined for no limit, or an error naming what is wrong. */
export function parseLimit(text: string): number | undefined | Error {
  const value = text.trim();
  if (value === "max") return undefined;
  if (!/^\d+$/.test(value)) {
    return new Error(
      `not a number of bytes or "max": ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  const bytes = Number(value);
  return bytes >= UNLIMITED_FROM ? undefined : bytes;
}

/** The smallest limit among the files' contents (undefined: none anywhere). */
export function smallestLimit(
  contents: readonly { file: string; text: string }[],
): MemoryLimit | undefined {
  let best: MemoryLimit | undefined;
  for (const { file, text } of contents) {
    const bytes = parseLimit(text);
    if (typeof bytes !== "number") continue;
    if (best === undefined || bytes < best.bytes) {
      best = { bytes, source: file };
    }
  }
  return best;
}

/** Where readMemoryLimit reads from: the system, or a test's files. */
export interface LimitReader {
  /** Reads a file's text; rejects when it cannot (absent, not permitted). */
  readTextFile(path: string): Promise<string>;
  /** The runtime's own reading (node:process constrainedMemory()): 0 or ≥ 2^62 for none. */
  constrainedMemory(): number | undefined;
}

/** The real files and the real runtime. */
const SYSTEM_LIMIT_READER: LimitReader = {
  readTextFile: (path) => Deno.readTextFile(path),
  constrainedMemory: () => process.constrainedMemory(),
};

/** What readMemoryLimit found: a limit, none, or why it could not tell. */
export type LimitReading =
  | { limit: MemoryLimit }
  | { limit: undefined; unknown?: string };

/**
 * The process's memory limit: from the cgroup files where the runtime lets
 * us read them, else from the runtime's own reading. `unknown` says why
 * neither could tell (then nothing is sized from it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMemoryLimit } from "./cgroup_memory.ts";
 *
 * // A container in a 32 MiB cgroup v2, as the files show it.
 * const files: Record<string, string> = {
 *   "/proc/self/cgroup": "0::/\n",
 *   "/proc/self/mountinfo":
 *     "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
 *   "/sys/fs/cgroup/memory.max": "33554432\n",
 * };
 * const reading = await readMemoryLimit({
 *   readTextFile: (path) =>
 *     path in files
 *       ? Promise.resolve(files[path]!)
 *       : Promise.reject(new Error(`${path}: not found`)),
 *   constrainedMemory: () => undefined,
 * });
 * assert.deepEqual(reading, {
 *   limit: { bytes: 33554432, source: "/sys/fs/cgroup/memory.max" },
 * });
 * ```
 */
export async function readMemoryLimit(
  reader: LimitReader = SYSTEM_LIMIT_READER,
): Promise<LimitReading> {
  let fromFiles: LimitReading | Error;
  try {
    const [cgroup, mountinfo] = await Promise.all([
      reader.readTextFile("/proc/self/cgroup"),
      reader.readTextFile("/proc/self/mountinfo"),
    ]);
    const files = limitFiles(
      parseProcCgroup(cgroup),
      parseMountinfo(mountinfo),
    );
    const contents = await Promise.all(files.map(async (file) => {
      try {
        return { file, text: await reader.readTextFile(file) };
      } catch {
        return { file, text: "" }; // absent in this hierarchy: no limit there
      }
    }));
    const limit = smallestLimit(contents);
    fromFiles = limit ? { limit } : { limit: undefined };
  } catch (e) {
    fromFiles = e instanceof Error ? e : new Error(String(e));
  }
  if (!(fromFiles instanceof Error)) return fromFiles;
  try {
    const bytes = reader.constrainedMemory();
    if (bytes === undefined || bytes <= 0 || bytes >= UNLIMITED_FROM) {
      return { limit: undefined };
    }
    return { limit: { bytes, source: "runtime" } };
  } catch (e) {
    return {
      limit: undefined,
      unknown: `${errorMessage(fromFiles)}; and the runtime's reading failed: ${
        errorMessage(e)
      }`,
    };
  }
}
