// Which hodometer a measured process runs: this tree's main.ts as shipped
// (scripts/permissions.ts), or another tree's (the bench's --baseline, a git
// worktree of another commit) with that tree's own permissions and V8 flags,
// run from its own directory so that its deno.json and lock resolve its
// imports.

import { shippedRunArgs } from "../permissions.ts";
import { denoCommand } from "../runtime_env.ts";

/** A hodometer to run: `deno` with `runArgs` (then the subcommand), in `cwd`. */
export interface Program {
  /** What the tables call it: "head", or the baseline's ref. */
  label: string;
  /** The tree's root directory. */
  cwd: string;
  /** `run`, the permissions and V8 flags, and the absolute path of main.ts. */
  runArgs: string[];
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** This tree's hodometer, as shipped. */
export function thisProgram(label = "head"): Program {
  return { label, cwd: ROOT, runArgs: shippedRunArgs() };
}

/**
 * The hodometer of the tree at `root`, as that tree ships it: the flags its
 * own scripts/permissions.ts prints (run in `root`), then its main.ts.
 */
export async function programAt(root: string, label: string): Promise<Program> {
  const out = await denoCommand({
    args: ["run", "--no-prompt", "scripts/permissions.ts"],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printed = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  if (!out.success || printed.at(-1) !== "main.ts") {
    throw new Error(
      `${label}: scripts/permissions.ts did not print the run flags: ${
        new TextDecoder().decode(out.stderr).slice(-500)
      }`,
    );
  }
  const dir = root.endsWith("/") ? root : `${root}/`;
  return {
    label,
    cwd: dir,
    runArgs: ["run", ...printed.slice(0, -1), `${dir}main.ts`],
  };
}
