// The cgroup memory limit: the files' parsing without a filesystem, and the
// reading with a given reader (files where the runtime allows them, else the
// runtime's own reading). The real thing, in a real cgroup, is in
// tests/memory_cgroup_process_test.ts.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  limitFiles,
  type LimitReader,
  parseLimit,
  parseMountinfo,
  parseProcCgroup,
  readMemoryLimit,
  smallestLimit,
} from "../src/runtime/cgroup_memory.ts";

const V1_CGROUP = `12:pids:/kubepods/burstable/pod1/c1
4:memory:/kubepods/burstable/pod1/c1
1:name=systemd:/kubepods/burstable/pod1/c1
0::/
`;

const V1_MOUNTINFO =
  `1449 1440 0:65 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
1454 1449 0:33 /kubepods/burstable/pod1/c1 /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory
1455 1449 0:34 /kubepods/burstable/pod1/c1 /sys/fs/cgroup/pids ro,nosuid - cgroup cgroup rw,pids
`;

const V2_MOUNTINFO =
  `32 25 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

Deno.test("cgroup: /proc/self/cgroup lines, v1 and v2, malformed ones skipped", () => {
  assertEquals(parseProcCgroup(`${V1_CGROUP}garbage\n5:cpu:relative\n`), [
    { id: 12, controllers: ["pids"], path: "/kubepods/burstable/pod1/c1" },
    { id: 4, controllers: ["memory"], path: "/kubepods/burstable/pod1/c1" },
    {
      id: 1,
      controllers: ["name=systemd"],
      path: "/kubepods/burstable/pod1/c1",
    },
    { id: 0, controllers: [], path: "/" },
  ]);
});

Deno.test("cgroup: mountinfo's cgroup mounts, with their root and escaped paths", () => {
  assertEquals(parseMountinfo(V1_MOUNTINFO), [
    {
      version: "v1",
      root: "/kubepods/burstable/pod1/c1",
      mountPoint: "/sys/fs/cgroup/memory",
      controllers: ["rw", "memory"],
    },
    {
      version: "v1",
      root: "/kubepods/burstable/pod1/c1",
      mountPoint: "/sys/fs/cgroup/pids",
      controllers: ["rw", "pids"],
    },
  ]);
  assertEquals(
    parseMountinfo(
      "40 25 0:27 / /mnt/my\\040cgroups rw - cgroup2 none rw\nshort line\n",
    ),
    [{
      version: "v2",
      root: "/",
      mountPoint: "/mnt/my cgroups",
      controllers: [],
    }],
  );
});

Deno.test("cgroup: v2 in its own namespace: memory.max of the cgroup and each one above it", () => {
  const files = limitFiles(
    parseProcCgroup("0::/pod/app\n"),
    parseMountinfo(V2_MOUNTINFO),
  );
  assertEquals(files, [
    "/sys/fs/cgroup/pod/app/memory.max",
    "/sys/fs/cgroup/pod/memory.max",
    "/sys/fs/cgroup/memory.max",
  ]);
});

Deno.test("cgroup: v1 without a cgroup namespace: the host's path is outside the mount, the mount's root is the container's cgroup", () => {
  const files = limitFiles(
    parseProcCgroup(V1_CGROUP),
    parseMountinfo(V1_MOUNTINFO),
  );
  // 0::/ has no v2 mount here; the memory hierarchy is the container's own.
  assertEquals(files, ["/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
});

Deno.test("cgroup: v1 on a host: the cgroup's and its ancestors' limits", () => {
  const files = limitFiles(
    parseProcCgroup("4:memory:/system.slice/agent.service\n"),
    parseMountinfo(
      "30 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
    ),
  );
  assertEquals(files, [
    "/sys/fs/cgroup/memory/system.slice/agent.service/memory.limit_in_bytes",
    "/sys/fs/cgroup/memory/system.slice/memory.limit_in_bytes",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
  ]);
});

Deno.test("cgroup: without a memory hierarchy mounted there is nothing to read", () => {
  assertEquals(
    limitFiles(parseProcCgroup(V1_CGROUP), parseMountinfo("")),
    [],
  );
});

Deno.test("cgroup: a limit file's value: bytes, none, or an error naming it", () => {
  assertEquals(parseLimit("33554432\n"), 33554432);
  assertEquals(parseLimit("max\n"), undefined);
  // v1's "no limit": the largest page-aligned 64-bit number.
  assertEquals(parseLimit("9223372036854771712\n"), undefined);
  const bad = parseLimit("lots");
  assert(bad instanceof Error, "garbage is an error");
  assertMatch(bad.message, /not a number of bytes or "max": "lots"/);
});

Deno.test("cgroup: the smallest limit of the files wins; none, garbage and absent files do not count", () => {
  assertEquals(
    smallestLimit([
      { file: "a", text: "max" },
      { file: "b", text: "67108864" },
      { file: "c", text: "33554432" },
      { file: "d", text: "" },
      { file: "e", text: "x" },
    ]),
    { bytes: 33554432, source: "c" },
  );
  assertEquals(smallestLimit([{ file: "a", text: "max" }]), undefined);
});

/** A reader over a map of files; the runtime's reading as given. */
function reader(
  files: Record<string, string> | "refused",
  constrained: () => number | undefined,
): LimitReader {
  return {
    readTextFile: (path) => {
      if (files === "refused") {
        return Promise.reject(
          new Error(`Requires all access to "${path}"`),
        );
      }
      const text = files[path];
      return text === undefined
        ? Promise.reject(new Error(`no such file: ${path}`))
        : Promise.resolve(text);
    },
    constrainedMemory: constrained,
  };
}

Deno.test("cgroup: read from the files where they can be read (the pod's limit above an unlimited container)", async () => {
  const got = await readMemoryLimit(reader({
    "/proc/self/cgroup": "0::/pod/app\n",
    "/proc/self/mountinfo": V2_MOUNTINFO,
    "/sys/fs/cgroup/pod/app/memory.max": "max\n",
    "/sys/fs/cgroup/pod/memory.max": "33554432\n",
  }, () => {
    throw new Error("not asked when the files answer");
  }));
  assertEquals(got, {
    limit: { bytes: 33554432, source: "/sys/fs/cgroup/pod/memory.max" },
  });
});

Deno.test("cgroup: files refused (Deno without every permission): the runtime's reading", async () => {
  assertEquals(
    await readMemoryLimit(reader("refused", () => 33554432)),
    { limit: { bytes: 33554432, source: "runtime" } },
  );
  // The runtime's "no limit": 0, or v1's huge number.
  assertEquals(await readMemoryLimit(reader("refused", () => 0)), {
    limit: undefined,
  });
  assertEquals(
    await readMemoryLimit(reader("refused", () => 9223372036854772000)),
    { limit: undefined },
  );
});

Deno.test("cgroup: neither the files nor the runtime: unknown, saying both causes", async () => {
  const got = await readMemoryLimit(reader("refused", () => {
    throw new Error('Requires sys access to "systemMemoryInfo"');
  }));
  assertEquals(got.limit, undefined);
  assertMatch(
    "unknown" in got ? got.unknown ?? "" : "",
    /Requires all access to "\/proc\/self\/cgroup".*runtime's reading failed: Requires sys access/,
  );
});
