// A pod's first start on a node that has never run the image, as near as
// this machine allows without `denort` (which `deno compile` needs and cannot
// download here): the limit section's "pod cold" agents.
//
// - A private ext4 filesystem (an image file on a loop device with direct
//   I/O, so the backing file keeps no page cache of its own) holds a copy of
//   the Deno executable that nothing else maps, and the program. Remounting
//   it before each run empties its page cache, and only its: every page of
//   the runtime's code and of the program the run touches is read from disk
//   and charged to the run's cgroup, and no other process on the machine is
//   slowed down (no global drop_caches).
// - Its read-ahead is the kernel's default (128 KiB) unless told otherwise.
//   Read-ahead decides how much of the executable each page fault brings in
//   and charges: this VM's disk reads ahead 8 MiB, with which even a trivial
//   Deno script thrashes in 32 MiB (docs/performance.md, "The stock 32 MiB
//   pod"); a node's is in /sys/block/<disk>/queue/read_ahead_kb.
// - The program, as `bundle`: main.ts bundled by `deno bundle` with code
//   splitting (what `deno compile` embeds is transpiled JavaScript, already
//   resolved), run with `deno run --no-config --no-lock --cached-only`. The
//   chunks' dynamic imports are made opaque to `deno run`, which would
//   otherwise read and parse every chunk any subcommand could load (the
//   Kubernetes client's 2.8 MB among them) before starting; a compiled
//   binary loads a module when it is imported. As `source`: main.ts from
//   the worktree, as the process tests run it (its module files and Deno's
//   cache are not on the image, so they are not cold).

import { denoCommand } from "../runtime_env.ts";
import { shippedRunArgs } from "../permissions.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The kernel's default read-ahead (VM_READAHEAD_PAGES), KiB. */
export const DEFAULT_READAHEAD_KIB = 128;

/** How the program is given to the runtime on the image. */
export type PodProgram = "bundle" | "source";

/** A mounted pod image: paths on it, and how to make it cold again. */
export interface PodImage {
  /** The private copy of the Deno executable. */
  runtime: string;
  /** The bundle's entry point (main.js). */
  bundleMain: string;
  /** DENO_DIR for runs of the bundle: on the image, so it is cold too. */
  denoDir: string;
  /** The loop device's read-ahead, KiB. */
  readaheadKiB: number;
  /** Empties the image's page cache (unmount, mount). */
  makeCold(): Promise<void>;
  /** Unmounts, detaches and deletes it. */
  close(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return text;
}

/**
 * Rewrites `import("./chunk.js")` in a bundle's chunks to an import whose
 * specifier `deno run` cannot read ahead of time (see above).
 */
export function opaqueDynamicImports(code: string): string {
  return code.replace(
    /\bimport\("(\.\/[^"]+)"\)/g,
    (_, path: string) => `import(import.meta.resolve(${JSON.stringify(path)}))`,
  );
}

async function bundleInto(outdir: string): Promise<void> {
  const built = await denoCommand({
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      "--outdir",
      outdir,
      `${ROOT}main.ts`,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!built.success) {
    throw new Error(
      `deno bundle: ${new TextDecoder().decode(built.stderr).trim()}`,
    );
  }
  for await (const entry of Deno.readDir(outdir)) {
    if (!entry.name.endsWith(".js")) continue;
    const path = `${outdir}/${entry.name}`;
    await Deno.writeTextFile(
      path,
      opaqueDynamicImports(await Deno.readTextFile(path)),
    );
  }
}

/**
 * `deno run` arguments for the bundle on `image`, as shipped (permissions, V8
 * flags), with no configuration, lockfile or download to look for.
 */
export function bundleRunArgs(image: PodImage): string[] {
  const [run, ...rest] = shippedRunArgs(image.bundleMain);
  return [run!, "--no-config", "--no-lock", "--cached-only", ...rest];
}

/** Why no pod image can be made here, or undefined when one can. */
export async function podImageUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root (a loop mount needs root)";
  for (const tool of ["mkfs.ext4", "losetup", "mount", "umount"]) {
    try {
      await new Deno.Command(tool, {
        args: ["--help"],
        stdout: "null",
        stderr: "null",
      }).output();
    } catch {
      return `${tool} not found`;
    }
  }
  return undefined;
}

/**
 * Makes, fills and mounts a pod image under `dir`: the executable's copy, the
 * bundle, and a DENO_DIR the bundle has been run with once (so that run
 * writes nothing there), then makes it cold.
 */
export async function makePodImage(
  dir: string,
  readaheadKiB: number = DEFAULT_READAHEAD_KIB,
): Promise<PodImage> {
  const file = `${dir}/pod.img`;
  const mnt = `${dir}/pod`;
  await Deno.mkdir(mnt);
  await Deno.writeFile(file, new Uint8Array());
  await Deno.truncate(file, 1024 * 1024 * 1024);
  await run("mkfs.ext4", ["-q", "-b", "4096", file]);
  const loop = await run("losetup", ["--direct-io=on", "--show", "-f", file]);
  const detach = () => run("losetup", ["-d", loop]).catch(() => "");
  try {
    await Deno.writeTextFile(
      `/sys/block/${loop.replace("/dev/", "")}/queue/read_ahead_kb`,
      String(readaheadKiB),
    );
    await run("mount", [loop, mnt]);
  } catch (e) {
    await detach();
    throw e;
  }
  const image: PodImage = {
    runtime: `${mnt}/deno`,
    bundleMain: `${mnt}/bundle/main.js`,
    denoDir: `${mnt}/deno_dir`,
    readaheadKiB,
    makeCold: async () => {
      await run("umount", [mnt]);
      await run("mount", [loop, mnt]);
    },
    close: async () => {
      await run("umount", [mnt]).catch(() => "");
      await detach();
      await Deno.remove(file).catch(() => {});
    },
  };
  try {
    await Deno.copyFile(Deno.execPath(), image.runtime);
    await Deno.chmod(image.runtime, 0o755);
    await bundleInto(`${mnt}/bundle`);
    await Deno.mkdir(image.denoDir);
    const warm = await new Deno.Command(image.runtime, {
      args: [...bundleRunArgs(image), "version"],
      env: { DENO_DIR: image.denoDir, DENO_NO_UPDATE_CHECK: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!warm.success) {
      throw new Error(
        `the bundle does not run: ${new TextDecoder().decode(warm.stderr)}`,
      );
    }
    await image.makeCold();
  } catch (e) {
    await image.close();
    throw e;
  }
  return image;
}
