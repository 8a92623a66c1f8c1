// The program's source files, as the checks that read the code walk them.

/**
 * main.ts and every .ts file under src/, repository-relative and sorted, but
 * those `skip` names: a file by its path, a folder by its path ending in `/`.
 */
export function programFiles(
  root: URL,
  skip: readonly string[] = [],
): string[] {
  const files = ["main.ts"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) {
        if (!skip.includes(`${path}/`)) walk(`${path}/`);
      } else if (path.endsWith(".ts") && !skip.includes(path)) {
        files.push(path);
      }
    }
  };
  walk("src/");
  return files.sort();
}
