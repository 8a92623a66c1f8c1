// The program's own source files, as the checks that read them all (doc lint,
// function sizes, the defaults written once) list them.

/** Generated from proto/ by scripts/; never edited by hand, never checked. */
export const GENERATED = "src/proto/generated/";

/**
 * The .ts files under `dir` of `root`, repository-relative and sorted, but
 * those `skip` names: a file by its path, a folder by its path ending in `/`.
 */
export function sourceFiles(
  root: URL,
  dir = "src/",
  skip: readonly string[] = [GENERATED],
): string[] {
  const files: string[] = [];
  const walk = (at: string) => {
    for (const entry of Deno.readDirSync(new URL(at, root))) {
      const path = `${at}${entry.name}`;
      if (entry.isDirectory) {
        if (!skip.includes(`${path}/`)) walk(`${path}/`);
      } else if (path.endsWith(".ts") && !skip.includes(path)) {
        files.push(path);
      }
    }
  };
  walk(dir.endsWith("/") ? dir : `${dir}/`);
  return files.sort();
}

/** main.ts and every .ts file under src/ but those `skip` names (the generated code unless given), sorted. */
export function programFiles(
  root: URL,
  skip: readonly string[] = [GENERATED],
): string[] {
  return ["main.ts", ...sourceFiles(root, "src/", skip)].sort();
}
