// Every Deno runtime a test or a script starts gets RUNTIME_ENV (no update
// check: nothing leaves the machine), because every one is started through
// denoCommand. The loopback check finds one that is not at run time; this
// finds it in the source, whether or not it lives long enough to ask.

import { assertEquals } from "./assert.ts";
import { denoCommand, RUNTIME_ENV } from "../scripts/runtime_env.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Files allowed to start Deno themselves, and why. */
const OWN_START: Readonly<Record<string, string>> = {
  "scripts/runtime_env.ts": "the one place",
  "scripts/compile.ts":
    "runs only `deno compile` (no update check there), and is copied alone into the image's build context",
};

function typescriptFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...typescriptFiles(path));
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("every Deno a test or a script starts is started through denoCommand", () => {
  const startsDeno =
    /new Deno\.Command\(\s*(Deno\.execPath\(\)|["'`]deno["'`])/;
  const own = [...typescriptFiles("tests"), ...typescriptFiles("scripts")]
    .filter((path) => startsDeno.test(Deno.readTextFileSync(`${ROOT}${path}`)))
    .filter((path) => !(path in OWN_START));
  assertEquals(own, []);
});

Deno.test("denoCommand runs this Deno with RUNTIME_ENV over the options' environment", async () => {
  const out = await denoCommand({
    args: [
      "eval",
      "console.log(Deno.env.get('DENO_NO_UPDATE_CHECK'), Deno.env.get('KEPT'))",
    ],
    env: { KEPT: "yes", DENO_NO_UPDATE_CHECK: "" },
    stdout: "piped",
  }).output();
  assertEquals(RUNTIME_ENV, { DENO_NO_UPDATE_CHECK: "1" });
  assertEquals(new TextDecoder().decode(out.stdout), "1 yes\n");
});
