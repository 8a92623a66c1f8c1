import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  add,
  compare,
  multiply,
  parseQuantity,
  toNumber,
  toText,
} from "../src/metrics/quantity.ts";

const exact = (raw: unknown) => {
  const q = parseQuantity(raw);
  assert(q.ok, `${JSON.stringify(raw)} should parse: ${!q.ok && q.error}`);
  return toText(q.value);
};

Deno.test("quantities parse exactly: decimal SI, binary SI, exponents", () => {
  const cases: [string, string][] = [
    ["500m", "0.5"],
    ["2", "2"],
    ["1.5", "1.5"],
    ["0.5", "0.5"],
    [".5", "0.5"],
    ["5.", "5"],
    ["100Mi", "104857600"],
    ["1Gi", "1073741824"],
    ["1Ki", "1024"],
    ["1Ei", "1152921504606846976"],
    ["1e3", "1000"],
    ["1E3", "1000"],
    ["1.5e3", "1500"],
    ["1e-3", "0.001"],
    ["2k", "2000"],
    ["3M", "3000000"],
    ["1G", "1000000000"],
    ["250u", "0.00025"],
    ["7n", "0.000000007"],
    ["0.1", "0.1"],
    ["+2", "2"],
    ["-2", "-2"],
    ["0", "0"],
    ["0m", "0"],
    ["1000m", "1"],
    ["001.500", "1.5"],
  ];
  for (const [raw, value] of cases) assertEquals(exact(raw), value, raw);
});

Deno.test("JSON numbers are accepted as quantities", () => {
  assertEquals(exact(2), "2");
  assertEquals(exact(0.25), "0.25");
});

Deno.test("invalid quantities are errors naming the value, never NaN", () => {
  const invalid: unknown[] = [
    "",
    " 1",
    "1 ",
    "abc",
    "1.2.3",
    ".",
    "1e",
    "e3",
    "2K",
    "2ki",
    "1mi",
    "1e3Mi",
    "1m3",
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
    "1e999999",
    "1e-999999",
    "9".repeat(65),
    null,
    true,
    { cpu: 1 },
    Number.NaN,
  ];
  for (const raw of invalid) {
    const q = parseQuantity(raw);
    assert(!q.ok, `${String(raw)} should be rejected`);
    assertMatch(q.error, /quantity|too long|out of range/);
  }
  const q = parseQuantity("lots");
  assert(!q.ok);
  assertEquals(q.error, '"lots" is not a Kubernetes quantity');
});

Deno.test("decimal arithmetic is exact where floats are not", () => {
  const p = (s: string) => {
    const q = parseQuantity(s);
    assert(q.ok);
    return q.value;
  };
  // 0.1 + 0.2 in floats is 0.30000000000000004
  assertEquals(toNumber(add(p("100m"), p("200m"))), 0.3);
  assertEquals(toText(multiply(p("1.5"), 3)), "4.5");
  assertEquals(compare(p("1"), p("1000m")), 0);
  assertEquals(compare(p("999m"), p("1")), -1);
  assertEquals(compare(p("1Ki"), p("1k")), 1);
  assertEquals(toNumber(p("1e-3")), 0.001);
});
