// scripts/compile.sh: the one-line answer and exit status 3 when there is no
// Deno runtime (denort); the permissions, V8 flags and stamp baked into a real
// `deno compile` output; and, where a denort is available (DENORT_BIN, or one
// in Deno's download cache), a binary that runs alone in an empty directory.

import {
  assert,
  assertEquals,
  assertMatch,
  assertThrows,
  nth,
} from "./assert.ts";
import {
  compileFlags,
  envVariables,
  V8_FLAGS,
} from "../scripts/permissions.ts";
import { stampBuildInfo } from "../scripts/compile.ts";
import { denoCommand, RUNTIME_ENV } from "../scripts/runtime_env.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCRIPT = `${ROOT}scripts/compile.sh`;
const BUILD_INFO = `${ROOT}src/build_info.ts`;
const TARGET = Deno.build.target;
const EXIT_NO_RUNTIME = 3;
/** What Deno's update check prints, and so what a runtime that has one holds. */
const UPDATE_CHECK = "A new release of Deno is available";
const VERSION = "0.0.0-compile-test";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const HINT =
  `set DENORT_BIN=/path/to/denort-${TARGET} or allow downloads from dl.deno.land`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** What compile.sh reads; a test sets the ones it means. */
const SCRIPT_INPUTS = [
  "DENORT_BIN",
  "VERSION",
  "GIT_COMMIT",
  "HODOMETER_ALLOW_READ",
  "HODOMETER_ALLOW_WRITE",
];

/** compile.sh with the inherited environment less SCRIPT_INPUTS, plus RUNTIME_ENV and `env`. */
async function compileScript(
  args: string[],
  env: Record<string, string>,
): Promise<Ran> {
  const base = Deno.env.toObject();
  for (const name of SCRIPT_INPUTS) delete base[name];
  return await run("bash", [SCRIPT, ...args], Deno.cwd(), {
    ...base,
    ...RUNTIME_ENV,
    DENO: Deno.execPath(),
    ...env,
  });
}

async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<Ran> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-compile-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names in a directory; none when it does not exist. */
function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** A denort for the host: DENORT_BIN, or the zip `deno compile` caches after a download. */
async function findRuntime(): Promise<
  { env: Record<string, string>; found: string } | { why: string }
> {
  const given = Deno.env.get("DENORT_BIN");
  if (given) {
    return isFile(given)
      ? { env: { DENORT_BIN: given }, found: `DENORT_BIN=${given}` }
      : { why: `DENORT_BIN=${given} is not a file` };
  }
  const info = await denoCommand({
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const denoDir = info.success
    ? (JSON.parse(text(info.stdout)) as { denoDir?: string }).denoDir
    : undefined;
  const cached = denoDir &&
    `${denoDir}/dl/release/v${Deno.version.deno}/denort-${TARGET}.zip`;
  if (cached && isFile(cached)) {
    return { env: {}, found: `the download cache (${cached})` };
  }
  return {
    why: `no DENORT_BIN and no denort for ${TARGET} in Deno's download cache${
      cached ? ` (${cached})` : ""
    }`,
  };
}

/** The JSON metadata `deno compile` appends to the runtime: the object that starts with {"argv":. */
function embeddedMetadata(bytes: Uint8Array): Record<string, unknown> {
  const haystack = new TextDecoder("latin1").decode(bytes);
  const start = haystack.lastIndexOf('{"argv":');
  assert(start >= 0, "no compile metadata in the binary");
  let depth = 0;
  let inString = false;
  for (let i = start; i < haystack.length; i++) {
    const c = haystack[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      const json = new TextDecoder().decode(bytes.subarray(start, i + 1));
      return JSON.parse(json);
    }
  }
  throw new Error("unterminated compile metadata");
}

Deno.test("compile: the stamp sets BUILD_INFO's value only, in a module that type-checks", async () => {
  const source = await Deno.readTextFile(BUILD_INFO);
  const info = { version: VERSION, gitCommit: COMMIT };
  const stamped = stampBuildInfo(source, info);
  const changed = stamped.split("\n").filter((line, i) =>
    line !== source.split("\n")[i]
  );
  assertEquals(changed, [
    `export const BUILD_INFO: BuildInfo = ${JSON.stringify(info)};`,
  ]);
  await withTempDir(async (dir) => {
    const path = `${dir}/build_info.ts`;
    await Deno.writeTextFile(path, stamped);
    const check = await run(
      Deno.execPath(),
      ["check", "--no-config", path],
      dir,
    );
    assertEquals(check.code, 0, check.stderr);
    const module = await import(new URL(`file://${path}`).href);
    assertEquals(module.BUILD_INFO, info);
  });
  assertThrows(
    () => stampBuildInfo("export const BUILD_INFO = {};", info),
    /no BUILD_INFO value to stamp/,
  );
});

Deno.test("compile: DENORT_BIN naming no file stops with one line and status 3", async () => {
  const before = await Deno.readTextFile(BUILD_INFO);
  await withTempDir(async (dir) => {
    const missing = `${dir}/no-such-denort`;
    const r = await compileScript(["--out-dir", `${dir}/out`], {
      DENORT_BIN: missing,
    });
    assertEquals(r.code, EXIT_NO_RUNTIME, r.stderr);
    assertEquals(
      r.stderr,
      `hodometer compile: no Deno runtime (denort) available for ${TARGET}: DENORT_BIN=${missing} is not a readable file; ${HINT}\n`,
    );
    assertEquals(r.stdout, "");
    assertEquals(entries(`${dir}/out`), []);
  });
  assertEquals(await Deno.readTextFile(BUILD_INFO), before);
});

Deno.test("compile: no DENORT_BIN and a failing download stops with one line and status 3", async () => {
  // An empty DENO_DIR has no cached runtime; downloads go through a "proxy"
  // on loopback that hangs up at once, so nothing leaves the machine.
  const proxy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hangUp = (async () => {
    for await (const conn of proxy) conn.close();
  })();
  try {
    await withTempDir(async (dir) => {
      const url = `http://127.0.0.1:${proxy.addr.port}`;
      const r = await compileScript(["--out-dir", `${dir}/out`], {
        DENO_DIR: `${dir}/deno`,
        HTTPS_PROXY: url,
        HTTP_PROXY: url,
        https_proxy: url,
        http_proxy: url,
        NO_PROXY: "",
        no_proxy: "",
        DENORT_DOWNLOAD_TIMEOUT: "60",
      });
      assertEquals(r.code, EXIT_NO_RUNTIME, r.stderr);
      assertEquals(
        r.stderr,
        `hodometer compile: no Deno runtime (denort) available for ${TARGET}: ${HINT}\n`,
      );
      assertEquals(entries(`${dir}/out`), []);
    });
  } finally {
    proxy.close();
    await hangUp;
  }
});

Deno.test("compile: bad arguments and stamps are usage errors (status 2)", async () => {
  await withTempDir(async (dir) => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--target", "x86_64-pc-windows-msvc"], {}, /unknown target/],
      [["--all"], { DENORT_BIN: "/x" }, /one --target at a time/],
      [[], { VERSION: '1.0"; evil' }, /VERSION .* is not a version/],
      [[], { GIT_COMMIT: "a b" }, /GIT_COMMIT .* is not a commit/],
      [[], { HODOMETER_ALLOW_WRITE: "relative/dir" }, /not an absolute path/],
    ];
    for (const [args, env, message] of cases) {
      const r = await compileScript([...args, "--out-dir", dir], env);
      assertEquals(r.code, 2, `${args} ${JSON.stringify(env)}: ${r.stderr}`);
      assertMatch(r.stderr, message);
    }
    assertEquals(entries(dir), []);
  });
});

Deno.test("compile: --print-permissions lists every flag with its reason", async () => {
  const r = await compileScript(["--print-permissions"], {});
  assertEquals(r.code, 0, r.stderr);
  const flags = compileFlags();
  assert(!(flags instanceof Error));
  // A flag with a value is named, then its values are listed one by one.
  const stdout = r.stdout.replace(/\s+/g, " ");
  for (const flag of flags) {
    const [name, value] = flag.split(/=(.*)/s);
    assert(stdout.includes(`- \`${name}\`: `), `${name} not listed`);
    for (const v of value?.split(",") ?? []) {
      assert(stdout.includes(`\`${v}\``), `${name}: ${v} not listed`);
    }
  }
  assertMatch(r.stdout, /Not granted: `--allow-run`.*`--allow-ffi`/);
  const printed = await compileScript(["--print-flags"], {});
  assertEquals(printed.stdout.trim().split("\n"), flags);
  assert(!flags.some((f) => /^--allow-(run|ffi|all)|^-A$/.test(f)));
  // The memory limit only (src/runtime/cgroup_memory.ts).
  assertEquals(
    flags.filter((f) => f.startsWith("--allow-sys")),
    ["--allow-sys=systemMemoryInfo"],
  );
});

Deno.test("compile: the real deno compile bakes in the permissions, V8 flags and stamp", async () => {
  // The deno CLI itself stands in for denort: the output does not run (the
  // script's own smoke test would say so, hence --no-run), but it is what
  // `deno compile` writes, metadata and embedded sources included.
  const before = await Deno.readTextFile(BUILD_INFO);
  await withTempDir(async (dir) => {
    const r = await compileScript(["--out-dir", dir, "--no-run"], {
      DENORT_BIN: Deno.execPath(),
      VERSION,
      GIT_COMMIT: COMMIT,
    });
    assertEquals(r.code, 0, r.stderr);
    const binary = await Deno.readFile(`${dir}/hodometer-${TARGET}`);
    const meta = embeddedMetadata(binary);
    const perms = meta.permissions as Record<string, unknown>;
    assertEquals(perms.allow_env, envVariables());
    assertEquals(perms.ignore_env, []);
    assertEquals(perms.allow_net, []);
    // Reads and writes follow the settings (a kubeconfig, the state
    // directory, the store): any path; an empty list is Deno's "all".
    assertEquals(perms.allow_read, []);
    assertEquals(perms.allow_write, []);
    for (const never of ["allow_run", "allow_ffi"]) {
      assertEquals(perms[never], null, never);
    }
    // The memory limit only (src/runtime/cgroup_memory.ts).
    assertEquals(perms.allow_sys, ["systemMemoryInfo"]);
    assertEquals(perms.deny_import, []);
    assertEquals(perms.prompt, false);
    for (const flag of V8_FLAGS) {
      assert((meta.v8_flags as string[]).includes(flag), flag);
    }
    assertEquals(meta.code_cache_key, null);
    const haystack = new TextDecoder("latin1").decode(binary);
    assert(haystack.includes(`"${VERSION}"`), "version not stamped");
    assert(haystack.includes(`"${COMMIT}"`), "commit not stamped");
    // The control for the shipped binary's test below: the deno CLI standing
    // in for denort carries Deno's update check, and the marker finds it.
    assert(haystack.includes(UPDATE_CHECK), "the update check's marker");
  });
  assertEquals(await Deno.readTextFile(BUILD_INFO), before);
});

const runtime = await findRuntime();
if ("why" in runtime) {
  console.log(
    `compile_test: SKIPPED "the compiled binary runs alone": ${runtime.why}; set DENORT_BIN=/path/to/denort-${TARGET} to run it`,
  );
}

Deno.test({
  name:
    "compile: the binary runs `version` and `--help` alone in an empty directory, and has no update check",
  ignore: "why" in runtime,
  fn: async () => {
    if ("why" in runtime) return;
    console.log(`compile_test: runtime from ${runtime.found}`);
    await withTempDir(async (dir) => {
      const r = await compileScript(["--out-dir", `${dir}/out`], {
        ...runtime.env,
        VERSION,
        GIT_COMMIT: COMMIT,
      });
      assertEquals(r.code, 0, r.stderr);
      const alone = `${dir}/alone`;
      await Deno.mkdir(alone);
      await Deno.copyFile(
        `${dir}/out/hodometer-${TARGET}`,
        `${alone}/hodometer`,
      );
      await Deno.chmod(`${alone}/hodometer`, 0o755);
      assertEquals(entries(alone), ["hodometer"]);

      // denort has no update check (the deno CLI's run and serve have it):
      // the shipped binary never asks dl.deno.land for a newer Deno.
      const shipped = new TextDecoder("latin1").decode(
        await Deno.readFile(`${alone}/hodometer`),
      );
      assert(!shipped.includes(UPDATE_CHECK), "Deno's update check is in it");
      const version = await run(`${alone}/hodometer`, ["version"], alone);
      assertEquals(version.code, 0, version.stderr);
      const lines = version.stdout.trimEnd().split("\n");
      assertEquals(lines[0], `hodometer ${VERSION}`);
      assertEquals(lines[1], `git commit: ${COMMIT}`);
      assertMatch(nth(lines, 2), /^runtime: deno \d+\.\d+\.\d+/);

      const help = await run(`${alone}/hodometer`, ["--help"], alone);
      assertEquals(help.code, 0, help.stderr);
      assertMatch(help.stdout, /Usage: hodometer/);
      for (const command of ["receive", "version"]) {
        assertMatch(help.stdout, new RegExp(`\\n\\s+${command}\\b`));
      }
      assertEquals(entries(alone), ["hodometer"]);
    });
  },
});
