// The program's own source files, as the checks that read them all (doc lint,
// function sizes) list them: every .ts file of src/ but the code generated
// from proto/.

/** Generated from proto/ by scripts/; never edited by hand, never checked. */
export const GENERATED = "src/proto/generated/";

/** The .ts files under `dir` of `root` (the generated code aside), as paths relative to `root`, sorted. */
export function programFiles(root: URL, dir = "src/"): string[] {
  const files: string[] = [];
  const walk = (at: string) => {
    for (const entry of Deno.readDirSync(new URL(at, root))) {
      const path = `${at}${entry.name}`;
      if (entry.isDirectory) {
        if (`${path}/` !== GENERATED) walk(`${path}/`);
      } else if (path.endsWith(".ts")) files.push(path);
    }
  };
  walk(dir.endsWith("/") ? dir : `${dir}/`);
  return files.sort();
}
