// The pinned Deno version has one home, deno.json's "denoVersion": the
// scripts that can read it do (.ci/run, scripts/compile.sh); every other
// mention (the README's commands, the Dockerfile's base image) must equal it.

import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, ROOT));

const PINNED: string = JSON.parse(read("deno.json")).denoVersion;

/** A version of Deno as a command or an image names it. */
const MENTION =
  /deno@(\d+\.\d+\.\d+)|DENO_VERSION=(\d+\.\d+\.\d+)|denoland\/deno:[a-z]+-(\d+\.\d+\.\d+)/g;

function mentions(text: string): string[] {
  return [...text.matchAll(MENTION)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** Every text file of the repository but deno.json itself and the lock. */
function repositoryFiles(): string[] {
  const skip = new Set([".git", "node_modules", "dist"]);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir || ".", ROOT))) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory && !skip.has(entry.name)) walk(path);
      else if (
        entry.isFile && !["deno.json", "deno.lock"].includes(path) &&
        !/\.(png|jpg|gz|zip)$/.test(path)
      ) files.push(path);
    }
  };
  walk("");
  return files.sort();
}

Deno.test("the pinned Deno version is a version", () => {
  assert(/^\d+\.\d+\.\d+$/.test(PINNED), `denoVersion ${PINNED}`);
});

Deno.test("every mention of the Deno version equals deno.json's denoVersion", () => {
  const found = new Map<string, string[]>();
  for (const path of repositoryFiles()) {
    const versions = mentions(read(path));
    if (versions.length > 0) found.set(path, versions);
  }
  for (const [path, versions] of found) {
    assertEquals(versions.filter((v) => v !== PINNED), [], path);
  }
  // The places that cannot read deno.json are still checked.
  assert(found.has("README.md"), "README.md mentions no Deno version");
  assertEquals(found.get("Dockerfile"), [PINNED]);
});

Deno.test("CI and the compile script read the pinned version from deno.json", () => {
  for (const path of [".ci/run", "scripts/compile.sh"]) {
    const text = read(path);
    assertEquals(mentions(text), [], `${path} names a version of its own`);
    assert(text.includes(".denoVersion"), `${path} does not read denoVersion`);
  }
});
