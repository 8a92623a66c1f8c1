// The incremental JSON picker (src/kube/json_pick.ts): examples of each rule,
// and properties on fast-check: it accepts exactly what JSON.parse accepts,
// whatever the chunking; what it keeps is the Pick's part of JSON.parse's
// value; the Kubernetes rules count the same from the picked items as from
// whole ones; nothing it keeps passes its bounds.

import fc from "fast-check";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  JsonPicker,
  type JsonPickOptions,
  type OnItem,
  Overlong,
  type Pick,
  pick,
  type PickResult,
} from "../src/kube/json_pick.ts";
import {
  listPick,
  NAMESPACE_ITEM,
  POD_SPEC,
  ruleResource,
  SERVER_CONFIG_ITEM,
  SERVER_ITEM,
} from "../src/kube/picks.ts";
import { readServer, readServerConfig } from "../src/kube/objects.ts";
import {
  KubeServerTally,
  type PodSpecLite,
} from "../src/metrics/kube_rules.ts";

const encoder = new TextEncoder();

interface Picked {
  result: PickResult;
  items: unknown[];
  itemKept: number[];
}

/** Pushes `bytes` cut at `cuts` (positions), then finishes. */
function pickBytes(
  bytes: Uint8Array,
  options: Omit<JsonPickOptions, "onItem"> & { stopAfter?: number },
  cuts: number[] = [],
): Picked {
  const items: unknown[] = [];
  const itemKept: number[] = [];
  const onItem: OnItem = (item, index, kept) => {
    assertEquals(index, items.length);
    items.push(item);
    itemKept.push(kept);
    return items.length === options.stopAfter ? "stop" : undefined;
  };
  const picker = new JsonPicker({ ...options, onItem });
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((
    a,
    b,
  ) => a - b);
  let from = 0;
  for (const to of [...at, bytes.length]) {
    const status = picker.push(bytes.subarray(from, to));
    from = to;
    if (status !== "more") break;
  }
  return { result: picker.finish(), items, itemKept };
}

const pickText = (
  text: string,
  p: Pick,
  extra: Omit<JsonPickOptions, "onItem" | "pick"> & { stopAfter?: number } = {},
) => pickBytes(encoder.encode(text), { pick: p, ...extra });

function value(picked: Picked): unknown {
  assert(picked.result.ok, `not picked: ${JSON.stringify(picked.result)}`);
  return picked.result.value;
}

function error(picked: Picked): string {
  assert(!picked.result.ok, "picked, but an error was expected");
  return picked.result.error;
}

// ------------------------------------------------------------------ examples

Deno.test("picker: keeps the named members only, and checks the rest as JSON", () => {
  const p = pick.object({
    a: pick.scalar(10),
    b: pick.object({ c: pick.any }),
  });
  assertEquals(
    value(pickText('{"x":[1,{"y":null}],"a":"A","b":{"c":[true],"d":1}}', p)),
    { a: "A", b: { c: [true] } },
  );
  assertMatch(
    error(pickText('{"x":[1,{"y":nul}],"a":"A"}', p)),
    /^is not JSON: unexpected "}" at byte 16$/,
  );
});

Deno.test("picker: a list's items are handed over one by one and kept as []", () => {
  const text =
    '{"metadata":{"continue":"t"},"items":[{"metadata":{"namespace":"a","x":1}},{"metadata":{}},7]}';
  const got = pickText(text, listPick(NAMESPACE_ITEM));
  assertEquals(value(got), { metadata: { continue: "t" }, items: [] });
  assertEquals(got.items, [{ metadata: { namespace: "a" } }, {
    metadata: {},
  }, 7]);
  // what each item kept: containers, members and text, estimated
  assert(got.itemKept.every((k) => k > 0 && k < 200), String(got.itemKept));
});

Deno.test("picker: items that are skipped are still counted", () => {
  const got = pickText('{"items":[{"a":1},[],"x",null]}', listPick(pick.skip));
  assertEquals(got.items, [undefined, undefined, undefined, undefined]);
});

Deno.test('picker: "stop" ends the reading where it is', () => {
  const got = pickText(
    '{"items":[1,2,3,4] not even JSON after this',
    listPick(pick.any),
    { stopAfter: 2 },
  );
  assertEquals(got.result, { ok: true, value: undefined, stopped: true });
  assertEquals(got.items, [1, 2]);
});

Deno.test("picker: what is not JSON is said with the byte it was found at", () => {
  const cases: [string, RegExp][] = [
    ["", /^is empty$/],
    ["   ", /^ends before its JSON does \(after 3 bytes\)$/],
    ['{"a":[1,2', /^ends before its JSON does \(after 9 bytes\)$/],
    ["[1,]", /unexpected "]" at byte 3/],
    ['{"a":1,}', /unexpected "}" at byte 7/],
    ["[01]", /unexpected "1" at byte 2/],
    ["[1.]", /unexpected "]" at byte 3/],
    ["[-]", /unexpected "]" at byte 2/],
    ["[1e]", /unexpected "]" at byte 3/],
    ["[tru]", /unexpected "]" at byte 4/],
    ['["a\nb"]', /unexpected byte 0x0a at byte 3/],
    ['["\\x"]', /a bad escape "x" at byte 3/],
    ['["\\u12g4"]', /a bad \\u escape "g" at byte 6/],
    ["[1}", /unexpected "}" at byte 2/],
    ['{"a" 1}', /unexpected "1" at byte 5/],
    ["{1:2}", /unexpected "1" at byte 1/],
    ["[1] [2]", /unexpected "\[" at byte 4/],
    ["<html>", /unexpected "<" at byte 0/],
    ["[\xff]", /unexpected byte 0xc3 at byte 1/],
  ];
  for (const [text, expected] of cases) {
    assertMatch(error(pickText(text, pick.any)), expected, text);
  }
});

Deno.test("picker: nesting deeper than its limit is refused at once, whatever follows", () => {
  const deep = new Uint8Array(1_000_000).fill(0x5b);
  const got = pickBytes(deep, { pick: pick.any, maxDepth: 512 });
  assertEquals(error(got), "nests deeper than 512 levels at byte 512");
  // skipped parts count too
  const skipped = pickBytes(deep, { pick: pick.skip, maxDepth: 100 });
  assertEquals(error(skipped), "nests deeper than 100 levels at byte 100");
});

Deno.test("picker: a string or number longer than its Pick allows is kept as its size", () => {
  const p = pick.object({ s: pick.scalar(4), n: pick.scalar(3) });
  assertEquals(value(pickText('{"s":"abcd","n":123}', p)), {
    s: "abcd",
    n: 123,
  });
  assertEquals(value(pickText('{"s":"abcde","n":1234}', p)), {
    s: new Overlong("string", 5),
    n: new Overlong("number", 4),
  });
  assertEquals(
    JSON.stringify(new Overlong("string", 5)),
    '"(a string of 5 bytes)"',
  );
});

Deno.test("picker: a container where another type was wanted is kept as an empty one of its own type", () => {
  const p = pick.object({
    s: pick.scalar(10),
    o: pick.object({ a: pick.any }),
    l: pick.array(pick.any),
    m: pick.object({}),
  });
  assertEquals(
    value(pickText('{"s":{"a":1},"o":[1],"l":{"a":2},"m":"text"}', p)),
    { s: {}, o: [], l: {}, m: "text" },
  );
});

Deno.test("picker: a map keeps the members its test accepts, and refuses names it cannot tell", () => {
  const p = pick.object({
    limits: pick.map(ruleResource, 20, pick.scalar(65)),
  });
  assertEquals(
    value(pickText(
      '{"limits":{"cpu":"1","memory":"2Gi","nvidia.com/GPU":1,"CPU":"9"}}',
      p,
    )),
    { limits: { cpu: "1", "nvidia.com/GPU": 1 } },
  );
  assertEquals(
    error(pickText(`{"limits":{"${"x".repeat(21)}":1}}`, p)),
    "holds a member name longer than 20 bytes in limits at byte 33",
  );
});

Deno.test("picker: what is kept is bounded, for the document and for each item", () => {
  assertEquals(
    error(
      pickText(`{"a":"${"x".repeat(200)}"}`, pick.any, { maxKeptBytes: 100 }),
    ),
    "holds more than 100 bytes to keep at byte 206",
  );
  const item = `{"a":"${"x".repeat(200)}"}`;
  assertEquals(
    error(pickText(`{"items":[1,${item}]}`, listPick(pick.any), {
      maxItemKeptBytes: 100,
    })),
    "holds an item (items[1]) of which more than 100 bytes would be kept at byte 218",
  );
});

Deno.test("picker: escapes, UTF-8 cut between chunks, and __proto__ come out as JSON.parse has them", () => {
  const text = '{"a":"\\u0041\\/\\ud83d\\ude00 é 😀","__proto__":{"x":1}}';
  const bytes = encoder.encode(text);
  const whole = JSON.parse(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const got = value(pickBytes(bytes, { pick: pick.any }, [cut]));
    assertEquals(got, whole);
    assert(Object.hasOwn(got as object, "__proto__"));
    assertEquals(Object.getPrototypeOf(got), Object.prototype);
  }
});

Deno.test("picks: the Kubernetes picks keep what the rules read of a Server", () => {
  const server = {
    apiVersion: "mlops.seldon.io/v1alpha1",
    metadata: { namespace: "n", name: "s", labels: { a: "b" } },
    spec: {
      serverConfig: "mlserver",
      replicas: 2,
      podSpec: {
        containers: [{
          name: "server",
          image: "seldonio/mlserver:1",
          env: [{ name: "A", value: "B" }],
          resources: {
            limits: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "1" },
            requests: { cpu: "500m", "ephemeral-storage": "1Gi" },
          },
        }],
        affinity: { nodeAffinity: {} },
      },
    },
    status: { conditions: [] },
  };
  assertEquals(value(pickText(JSON.stringify(server), SERVER_ITEM)), {
    metadata: { namespace: "n", name: "s" },
    spec: {
      serverConfig: "mlserver",
      replicas: 2,
      podSpec: {
        containers: [{
          name: "server",
          image: "seldonio/mlserver:1",
          resources: {
            limits: { cpu: "1", "nvidia.com/gpu": "1" },
            requests: { cpu: "500m" },
          },
        }],
      },
    },
  });
});

// ------------------------------------------------------------------ properties

/** Where to cut a text into chunks: anywhere, including inside a character. */
const cuts = fc.array(fc.nat({ max: 100_000 }), { maxLength: 12 });

const ignoreBom = new TextDecoder("utf-8", { ignoreBOM: true });

/** JSON.parse of bytes as a fetch would give them: their UTF-8 text. */
function parseBytes(bytes: Uint8Array): { ok: boolean; value?: unknown } {
  try {
    return { ok: true, value: JSON.parse(ignoreBom.decode(bytes)) };
  } catch {
    return { ok: false };
  }
}

Deno.test("property: every JSON value is picked whole by pick.any, however it is cut", () => {
  fc.assert(
    fc.property(
      fc.jsonValue(),
      fc.constantFrom(undefined, 0, 1, "\t", " \r\n "),
      cuts,
      (v, space, at) => {
        const text = JSON.stringify(v, null, space);
        const got = pickBytes(encoder.encode(text), {
          pick: pick.any,
          maxKeptBytes: Infinity,
        }, at);
        assertEquals(got.result, {
          ok: true,
          value: JSON.parse(text),
          stopped: false,
        });
      },
    ),
    { numRuns: 1000 },
  );
});

/** JSON texts broken in every way: bytes changed, inserted, removed, cut short. */
const damagedJson = fc.tuple(
  fc.jsonValue({ maxDepth: 4 }).map((v) => encoder.encode(JSON.stringify(v))),
  fc.array(
    fc.tuple(
      fc.constantFrom("set", "insert", "delete", "truncate"),
      fc.nat(),
      fc.oneof(
        fc.constantFrom(
          ...'{}[]:,"\\ -+.eE0129tfnu'.split("").map((c) => c.charCodeAt(0)),
        ),
        fc.integer({ min: 0, max: 255 }),
      ),
    ),
    { maxLength: 3 },
  ),
).map(([bytes, edits]) => {
  let out = [...bytes];
  for (const [kind, where, byte] of edits) {
    const at = where % (out.length + 1);
    if (kind === "set" && at < out.length) out[at] = byte;
    if (kind === "insert") out.splice(at, 0, byte);
    if (kind === "delete") out.splice(at, 1);
    if (kind === "truncate") out = out.slice(0, at);
  }
  return Uint8Array.from(out);
});

Deno.test("property: the picker accepts exactly what JSON.parse accepts, with the same value, and says the same however it is cut", () => {
  fc.assert(
    fc.property(
      fc.oneof(damagedJson, fc.uint8Array({ maxLength: 40 })),
      cuts,
      (bytes, at) => {
        const whole = pickBytes(bytes, {
          pick: pick.any,
          maxKeptBytes: Infinity,
        });
        const expected = parseBytes(bytes);
        assertEquals(whole.result.ok, expected.ok);
        if (whole.result.ok) assertEquals(whole.result.value, expected.value);
        const cut = pickBytes(bytes, {
          pick: pick.any,
          maxKeptBytes: Infinity,
        }, at);
        assertEquals(cut.result, whole.result);
      },
    ),
    { numRuns: 3000 },
  );
});

/** What the picker must keep of `v` by `p`: an independent statement of its rules. */
function prune(v: unknown, p: Pick): unknown {
  if (p.kind === "skip") return undefined;
  if (p.kind === "any") return v;
  if (v === null || typeof v !== "object") {
    const limit = p.kind === "scalar" ? p.maxBytes : 64;
    const size = typeof v === "string" || typeof v === "number"
      ? encoder.encode(JSON.stringify(v)).length -
        (typeof v === "string" ? 2 : 0)
      : 0;
    if (size > limit) {
      return new Overlong(typeof v as "string" | "number", size);
    }
    return v;
  }
  const isArray = Array.isArray(v);
  if (p.kind === "array" && isArray) {
    return v.map((e) => prune(e, p.element)).filter((e) => e !== undefined);
  }
  if (p.kind === "items" && isArray) return [];
  if ((p.kind === "object" || p.kind === "map") && !isArray) {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(v)) {
      const mp = p.kind === "object"
        ? (Object.hasOwn(p.fields, key) ? p.fields[key] : undefined)
        : (p.keep(key) ? p.value : undefined);
      const kept = mp === undefined ? undefined : prune(member, mp);
      if (kept !== undefined) out[key] = kept;
    }
    return out;
  }
  return isArray ? [] : {};
}

/** A value that is usually what a field should hold, and sometimes anything. */
const sometimes = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 100, arbitrary: good }, {
    weight: 1,
    arbitrary: fc.jsonValue({ maxDepth: 2 }),
  });

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const quantity = fc.oneof(
  fc.constantFrom("1", "500m", "2", "0.5", "1e3", "x", "-1", ""),
  fc.integer({ min: 0, max: 8 }),
);
const resources = fc.dictionary(
  fc.constantFrom("cpu", "memory", "nvidia.com/gpu", "amd.com/GPU", "gpu"),
  sometimes(quantity),
);
const container = fc.record({
  name: sometimes(fc.constantFrom("server", "agent", "proxy")),
  image: sometimes(
    fc.constantFrom(
      "seldonio/mlserver:1",
      "nvcr.io/nvidia/tritonserver:2",
      "x",
    ),
  ),
  env: fc.jsonValue({ maxDepth: 2 }),
  resources: sometimes(fc.record({
    limits: sometimes(resources),
    requests: sometimes(resources),
  }, { requiredKeys: [] })),
}, { requiredKeys: ["name"] });
const podSpec = fc.record({
  containers: sometimes(fc.array(sometimes(container), { maxLength: 3 })),
  volumes: fc.jsonValue({ maxDepth: 2 }),
}, { requiredKeys: [] });
const metadata = fc.record({
  namespace: sometimes(fc.constantFrom("a", "b")),
  name: sometimes(fc.constantFrom("mlserver", "triton", "s1", "s2")),
  labels: fc.dictionary(word, word),
});
const serverConfigObject = fc.record({
  metadata: sometimes(metadata),
  spec: sometimes(fc.record({ podSpec: sometimes(podSpec) })),
});
const serverObject = fc.record({
  metadata: sometimes(metadata),
  spec: sometimes(fc.record({
    serverConfig: sometimes(fc.constantFrom("mlserver", "triton", "none")),
    replicas: sometimes(fc.integer({ min: -1, max: 5 })),
    podSpec: sometimes(podSpec),
  }, { requiredKeys: [] })),
  status: fc.jsonValue({ maxDepth: 2 }),
});

Deno.test("property: what is kept of a Kubernetes object is the Pick's part of it", () => {
  fc.assert(
    fc.property(
      fc.oneof(serverObject, serverConfigObject),
      fc.constantFrom(
        SERVER_ITEM,
        SERVER_CONFIG_ITEM,
        POD_SPEC,
        NAMESPACE_ITEM,
      ),
      cuts,
      (object, p, at) => {
        const text = JSON.stringify(object);
        const got = pickBytes(encoder.encode(text), { pick: p }, at);
        assertEquals(got.result, {
          ok: true,
          value: prune(JSON.parse(text), p),
          stopped: false,
        });
      },
    ),
    { numRuns: 1000 },
  );
});

type Outcome =
  | { metrics: ReturnType<KubeServerTally["result"]>; warnings: number }
  | { error: string };

/** The servers metrics of lists of ServerConfig and Server items, as sources.ts reads them. */
function serverMetrics(
  configItems: unknown[],
  serverItems: unknown[],
): Outcome {
  try {
    const configs = new Map<string, PodSpecLite>();
    configItems.forEach((item, i) => {
      const c = readServerConfig(item, `serverconfigs[${i}]`);
      configs.set(KubeServerTally.configKey(c.namespace, c.name), c.podSpec);
    });
    const tally = new KubeServerTally(configs);
    serverItems.forEach((item, i) =>
      tally.add(readServer(item, `servers[${i}]`))
    );
    return { metrics: tally.result(), warnings: tally.warnings.length };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

Deno.test("property: the rules count the same from picked items as from whole ones", () => {
  fc.assert(
    fc.property(
      fc.array(serverConfigObject, { maxLength: 4 }),
      fc.array(serverObject, { maxLength: 6 }),
      cuts,
      (configs, servers, at) => {
        const streamed = (list: unknown[], p: Pick) => {
          const text = JSON.stringify({ kind: "List", items: list });
          const got = pickBytes(
            encoder.encode(text),
            { pick: listPick(p) },
            at,
          );
          assert(got.result.ok);
          return got.items;
        };
        assertEquals(
          serverMetrics(
            streamed(configs, SERVER_CONFIG_ITEM),
            streamed(servers, SERVER_ITEM),
          ),
          serverMetrics(configs, servers),
        );
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("property: whatever the bytes, the picker returns a value (never throws) and keeps within its bounds", () => {
  fc.assert(
    fc.property(
      fc.oneof(damagedJson, fc.uint8Array({ maxLength: 200 })),
      fc.constantFrom(SERVER_ITEM, NAMESPACE_ITEM, pick.any, pick.skip),
      fc.integer({ min: 1, max: 300 }),
      cuts,
      (bytes, p, maxItemKeptBytes, at) => {
        const got = pickBytes(bytes, {
          pick: listPick(p),
          maxItemKeptBytes,
          maxDepth: 8,
        }, at);
        assert(got.itemKept.every((k) => k <= maxItemKeptBytes));
        if (!got.result.ok) assert(got.result.error.length > 0);
      },
    ),
    { numRuns: 2000 },
  );
});
