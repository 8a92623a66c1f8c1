import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  nth,
} from "./assert.ts";
import { isUuid } from "../src/config/parsers.ts";
import {
  type IdentityLog,
  resolveClusterId,
} from "../src/identity/cluster_id.ts";
import { CLUSTER_ID_FILE, clusterIdPath } from "../src/identity/state_file.ts";
import type { ClusterIdStore } from "../src/kube/cluster_id.ts";

const UUID_A = "6f1c1a52-27b3-4d1e-9a53-0c3b7f0a9d11";
const UUID_B = "0b9e2a44-5d8f-4c7b-8e21-3a6f9c1d2e55";

function recordingLog() {
  const warnings: string[] = [];
  const render = (message: string, props: Record<string, unknown> = {}) =>
    message.replace(/\{(\w+)\}/g, (_, k) => String(props[k]));
  const log: IdentityLog = {
    debug: () => {},
    warn: (message, props) => warnings.push(render(message, props)),
  };
  return { log, warnings };
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-identity-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const ids = (...list: string[]) => () => {
  const next = list.shift();
  if (next === undefined) throw new Error("newId called too often");
  return next;
};

Deno.test("cluster id: created in the state file once, stable across runs", async () => {
  await withTempDir(async (tmp) => {
    const stateDir = `${tmp}/nested/hodometer`;
    const { log, warnings } = recordingLog();
    const first = await resolveClusterId({
      stateDir,
      logger: log,
      newId: ids(UUID_A),
    });
    assertEquals(first, { id: UUID_A, origin: "state file" });
    assertEquals(
      await Deno.readTextFile(`${stateDir}/${CLUSTER_ID_FILE}`),
      `${UUID_A}\n`,
    );
    assertEquals((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
    assertEquals(
      (await Deno.stat(`${stateDir}/${CLUSTER_ID_FILE}`)).mode! & 0o777,
      0o600,
    );

    const second = await resolveClusterId({
      stateDir: `${stateDir}/`,
      logger: log,
      newId: ids(UUID_B),
    });
    assertEquals(second, { id: UUID_A, origin: "state file" });
    assertEquals(warnings, []);
    // only the id file: no temp file left behind
    const names = [];
    for await (const e of Deno.readDir(stateDir)) names.push(e.name);
    assertEquals(names, [CLUSTER_ID_FILE]);
  });
});

Deno.test("cluster id: by default random, not derived from the host", async () => {
  await withTempDir(async (tmp) => {
    const { log } = recordingLog();
    const a = await resolveClusterId({ stateDir: `${tmp}/a`, logger: log });
    const b = await resolveClusterId({ stateDir: `${tmp}/b`, logger: log });
    assert(isUuid(a.id) && isUuid(b.id));
    assertNotEquals(a.id, b.id);
  });
});

Deno.test("cluster id: CLUSTER_ID wins and nothing is written", async () => {
  await withTempDir(async (tmp) => {
    await Deno.writeTextFile(`${tmp}/${CLUSTER_ID_FILE}`, UUID_B);
    const { log, warnings } = recordingLog();
    const store: ClusterIdStore = {
      load: () => Promise.resolve(UUID_B),
      save: () => Promise.reject(new Error("must not be called")),
    };
    const id = await resolveClusterId({
      clusterId: UUID_A.toUpperCase(),
      stateDir: `${tmp}/unused`,
      kubeStore: store,
      logger: log,
      newId: ids(),
    });
    assertEquals(id, { id: UUID_A, origin: "CLUSTER_ID" });
    assertEquals(warnings, []);
    assertEquals(await exists(`${tmp}/unused`), false);
  });
});

Deno.test("cluster id: unwritable state dir gives an ephemeral id with one warning", async () => {
  await withTempDir(async (tmp) => {
    // a path under a regular file cannot be created, even by root
    await Deno.writeTextFile(`${tmp}/a-file`, "x");
    const { log, warnings } = recordingLog();
    const id = await resolveClusterId({
      stateDir: `${tmp}/a-file/state`,
      logger: log,
      newId: ids(UUID_A),
    });
    assertEquals(id, { id: UUID_A, origin: "ephemeral" });
    assertEquals(warnings.length, 1);
    assertMatch(nth(warnings, 0), /cannot persist the cluster id/);
    assertMatch(nth(warnings, 0), /a-file\/state\/cluster_id/);
    assertMatch(nth(warnings, 0), /cluster counts inflate/);
    assertMatch(nth(warnings, 0), /STATE_DIR.*CLUSTER_ID/);
  });
});

Deno.test("cluster id: a state path that is a directory gives an ephemeral id", async () => {
  await withTempDir(async (tmp) => {
    await Deno.mkdir(clusterIdPath(tmp));
    const { log, warnings } = recordingLog();
    const id = await resolveClusterId({
      stateDir: tmp,
      logger: log,
      newId: ids(UUID_A),
    });
    assertEquals(id.origin, "ephemeral");
    assertEquals(warnings.length, 1);
  });
});

Deno.test("cluster id: a file without a UUID is replaced, with a warning", async () => {
  for (const junk of ["not-a-uuid\n", "", `${UUID_B}${"x".repeat(10_000)}`]) {
    await withTempDir(async (tmp) => {
      const path = clusterIdPath(tmp);
      await Deno.writeTextFile(path, junk);
      const { log, warnings } = recordingLog();
      const id = await resolveClusterId({
        stateDir: tmp,
        logger: log,
        newId: ids(UUID_A),
      });
      assertEquals(id, { id: UUID_A, origin: "state file" });
      assertEquals(await Deno.readTextFile(path), `${UUID_A}\n`);
      assertEquals(warnings.length, 1);
      assertMatch(nth(warnings, 0), /does not hold a UUID; replacing it/);
    });
  }
});

Deno.test("cluster id: an upper-case UUID in the file is used as is, lower-cased", async () => {
  await withTempDir(async (tmp) => {
    await Deno.writeTextFile(clusterIdPath(tmp), ` ${UUID_A.toUpperCase()}\n`);
    const { log, warnings } = recordingLog();
    const id = await resolveClusterId({
      stateDir: tmp,
      logger: log,
      newId: ids(),
    });
    assertEquals(id, { id: UUID_A, origin: "state file" });
    assertEquals(warnings, []);
  });
});

Deno.test("cluster id: concurrent first runs agree on one id and leave one intact file", async () => {
  await withTempDir(async (tmp) => {
    const stateDir = `${tmp}/fresh`;
    const { log, warnings } = recordingLog();
    const results = await Promise.all(
      Array.from(
        { length: 12 },
        () => resolveClusterId({ stateDir, logger: log }),
      ),
    );
    const distinct = new Set(results.map((r) => r.id));
    assertEquals(distinct.size, 1);
    assert(results.every((r) => r.origin === "state file"));
    const [id] = distinct;
    assertEquals(await Deno.readTextFile(clusterIdPath(stateDir)), `${id}\n`);
    assertEquals(warnings, []);
    const names = [];
    for await (const e of Deno.readDir(stateDir)) names.push(e.name);
    assertEquals(names, [CLUSTER_ID_FILE]);
  });
});

Deno.test("cluster id: the ConfigMap store is used when given", async () => {
  await withTempDir(async (tmp) => {
    const saved: string[] = [];
    const store: ClusterIdStore = {
      load: () => Promise.resolve(undefined),
      save: (id) => {
        saved.push(id);
        return Promise.resolve(id);
      },
    };
    const { log, warnings } = recordingLog();
    const id = await resolveClusterId({
      stateDir: tmp,
      kubeStore: store,
      logger: log,
      newId: ids(UUID_A),
    });
    assertEquals(id, { id: UUID_A, origin: "configmap" });
    assertEquals(saved, [UUID_A]);
    assertEquals(warnings, []);
    assertEquals(await exists(clusterIdPath(tmp)), false);
  });
});

Deno.test("cluster id: a failing ConfigMap store falls back to the state file with a warning", async () => {
  const failures: ClusterIdStore[] = [
    {
      load: () =>
        Promise.resolve(
          new Error(
            'kubernetes: forbidden to get configmaps "hodometer": falling back to the state file',
          ),
        ),
      save: () => Promise.reject(new Error("must not be called")),
    },
    {
      load: () => Promise.reject(new Error("socket hang up")),
      save: () => Promise.reject(new Error("must not be called")),
    },
  ];
  for (const store of failures) {
    await withTempDir(async (tmp) => {
      const { log, warnings } = recordingLog();
      const id = await resolveClusterId({
        stateDir: tmp,
        kubeStore: store,
        logger: log,
        newId: ids(UUID_B),
      });
      assertEquals(id, { id: UUID_B, origin: "state file" });
      assertEquals(warnings.length, 1);
      assertMatch(nth(warnings, 0), /falling back to the state file/);
      assertEquals(await Deno.readTextFile(clusterIdPath(tmp)), `${UUID_B}\n`);
    });
  }
});

Deno.test("cluster id, dry run: nothing kept gives a temporary id and writes nothing", async () => {
  await withTempDir(async (tmp) => {
    const stateDir = `${tmp}/state`;
    const { log, warnings } = recordingLog();
    const id = await resolveClusterId({
      stateDir,
      logger: log,
      newId: ids(UUID_A),
      persist: false,
    });
    assertEquals(id, {
      id: UUID_A,
      origin: "temporary",
      wouldKeepIn: clusterIdPath(stateDir),
    });
    assertEquals(warnings, []);
    assertEquals(await exists(stateDir), false);
  });
});

Deno.test("cluster id, dry run: a kept id is read and left as it is; a bad file is not repaired", async () => {
  await withTempDir(async (tmp) => {
    const { log } = recordingLog();
    await Deno.writeTextFile(clusterIdPath(tmp), `${UUID_B}\n`);
    const kept = await resolveClusterId({
      stateDir: tmp,
      logger: log,
      newId: ids(),
      persist: false,
    });
    assertEquals(kept, { id: UUID_B, origin: "state file" });
    await Deno.writeTextFile(clusterIdPath(tmp), "not a uuid\n");
    const bad = await resolveClusterId({
      stateDir: tmp,
      logger: log,
      newId: ids(UUID_A),
      persist: false,
    });
    assertEquals(bad.origin, "temporary");
    assertEquals(await Deno.readTextFile(clusterIdPath(tmp)), "not a uuid\n");
  });
});

Deno.test("cluster id, dry run: the ConfigMap is read, never created", async () => {
  await withTempDir(async (tmp) => {
    const { log } = recordingLog();
    const store = (found: string | undefined): ClusterIdStore => ({
      load: () => Promise.resolve(found),
      save: () => Promise.reject(new Error("must not be called")),
    });
    const kept = await resolveClusterId({
      stateDir: tmp,
      kubeStore: store(UUID_A),
      logger: log,
      newId: ids(),
      persist: false,
    });
    assertEquals(kept, { id: UUID_A, origin: "configmap" });
    const none = await resolveClusterId({
      stateDir: tmp,
      kubeStore: store(undefined),
      namespace: "seldon-mesh",
      logger: log,
      newId: ids(UUID_B),
      persist: false,
    });
    assertEquals(none, {
      id: UUID_B,
      origin: "temporary",
      wouldKeepIn: `ConfigMap hodometer in namespace seldon-mesh (else ${
        clusterIdPath(tmp)
      })`,
    });
    assertEquals(await exists(clusterIdPath(tmp)), false);
  });
});

Deno.test("cluster id: a ConfigMap refused by access control falls back quietly and carries the denial for the one summary", async () => {
  const denial = {
    request: 'get configmaps "hodometer" (in namespace ns)',
    grantIn: "Role" as const,
    cost: "falling back to the state file",
    message:
      'kubernetes: forbidden to get configmaps "hodometer" (in namespace ns): falling back to the state file',
  };
  const store: ClusterIdStore = {
    load: () =>
      Promise.resolve(Object.assign(new Error(denial.message), { denial })),
    save: () => Promise.reject(new Error("must not be called")),
  };
  await withTempDir(async (tmp) => {
    const { log, warnings } = recordingLog();
    const id = await resolveClusterId({
      stateDir: tmp,
      kubeStore: store,
      logger: log,
      newId: ids(UUID_B),
    });
    assertEquals(id, { id: UUID_B, origin: "state file", denial });
    assertEquals(warnings, []);
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
