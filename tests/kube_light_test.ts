// The in-cluster path must stay light: nothing reachable from src/kube/mod.ts by
// static imports may load an npm package (@kubernetes/client-node costs tens of
// MB); client-node is reached only through the dynamic import of the
// kubeconfig path.

import { assert, assertEquals } from "./assert.ts";
import { denoCommand } from "../scripts/runtime_env.ts";

interface InfoModule {
  specifier: string;
  dependencies?: {
    specifier: string;
    isDynamic?: boolean;
    code?: { specifier: string };
  }[];
}

Deno.test("the in-cluster modules import no npm package statically", async () => {
  const root = new URL("../src/kube/mod.ts", import.meta.url).href;
  const out = await denoCommand({
    args: ["info", "--json", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const reached = new Set<string>();
  const dynamic: string[] = [];
  const walk = (spec: string) => {
    if (reached.has(spec)) return;
    reached.add(spec);
    for (const dep of bySpecifier.get(spec)?.dependencies ?? []) {
      if (!dep.code) continue; // type-only
      if (dep.isDynamic) dynamic.push(dep.code.specifier);
      else walk(dep.code.specifier);
    }
  };
  walk(root);
  const npm = [...reached].filter((s) => s.startsWith("npm:"));
  assertEquals(npm, []);
  assert(![...reached].some((s) => s.endsWith("/kube/client_node.ts")));
  // the one way to client-node is the kubeconfig path's dynamic import
  assertEquals(
    dynamic.map((s) => s.replace(/^.*\/src\//, "src/")),
    ["src/kube/kubeconfig.ts"],
  );
});
