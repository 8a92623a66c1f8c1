// Version strings leave the cluster only in shapes that cannot carry a name:
// worked examples, then property tests of the parser on fast-check (a failure
// prints the shrunk input, and the seed and path that replay it).

import fc from "fast-check";
import { assert, assertEquals, nth } from "./assert.ts";
import {
  sanitizeVersion,
  VERSION_WORDS,
} from "../src/metrics/version_string.ts";

const RUNS = 1_000;

Deno.test("version: numbers and known suffixes kept, name-like suffixes dropped", () => {
  const cases: [string, string | undefined][] = [
    ["2.8.0", "2.8.0"],
    ["v1.30.2", "v1.30.2"],
    [" v1.2.3 ", "v1.2.3"],
    ["2.9.0-rc.1", "2.9.0-rc.1"],
    ["2.8.0-SNAPSHOT", "2.8.0-SNAPSHOT"],
    ["v1.28.9+k3s1", "v1.28.9+k3s1"],
    ["v1.28.10+rke2r1", "v1.28.10+rke2r1"],
    ["v1.27.3-gke.1700", "v1.27.3-gke.1700"],
    ["v1.29.4-eks-036c24b", "v1.29.4-eks-036c24b"],
    ["v1.27.4-eks-1-27-9", "v1.27.4-eks-1-27-9"],
    ["v1.27.6+f67aeb3", "v1.27.6+f67aeb3"],
    ["2.8.0-12-gabc1234", "2.8.0-12-gabc1234"],
    ["2.8.0-customer-churn-model", "2.8.0"],
    ["v1.29.4-acme-payments-prod-eu1", "v1.29.4"],
    ["v1.27.3+db.internal.corp", "v1.27.3"],
    ["v1.27.3-10.0.0.1", "v1.27.3"],
    ["v1.27.3-rc10.0.0.1", "v1.27.3"],
    ["v1.27.3-192-168-1-20", "v1.27.3"],
    ["1.2.3-defaced", "1.2.3"],
    ["1.2.3-previews", "1.2.3"],
    ["1.2.3-rc.", "1.2.3"],
    ["1.2.3-", "1.2.3"],
    [`v1.27.3-${"a".repeat(60)}`, "v1.27.3"],
    [`1.2.3-rc.${"1".repeat(70)}`, "1.2.3"],
    ["1.2.3.4", undefined],
    ["1.2.3foo", undefined],
    ["1.2", undefined],
    ["db.internal.corp", undefined],
    ["", undefined],
  ];
  for (const [raw, want] of cases) {
    assertEquals(sanitizeVersion(raw), want, raw);
  }
  assertEquals(sanitizeVersion(42), undefined);
  assertEquals(sanitizeVersion(undefined), undefined);
  assertEquals(sanitizeVersion("1.30.2-rc.1", "v"), "v1.30.2-rc.1");
});

// --------------------------------------------------------------- generators

/** fast-check's draws (fc.gen()) in the shapes the generators below use. */
class Gen {
  constructor(readonly draw: fc.GeneratorValue) {}
  int(min: number, max: number): number {
    return this.draw(fc.integer, { min, max });
  }
  pick<T>(items: readonly T[]): T {
    return nth(items, this.int(0, items.length - 1));
  }
  chars(alphabet: string, length: number): string {
    let s = "";
    for (let i = 0; i < length; i++) s += this.pick([...alphabet]);
    return s;
  }
  upperMaybe(s: string): string {
    return this.int(0, 3) === 0 ? s.toUpperCase() : s;
  }
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";
const HEX = "0123456789abcdef";

function core(g: Gen): string {
  return `${g.pick(["", "v"])}${g.int(0, 30)}.${g.int(0, 40)}.${g.int(0, 999)}`;
}

/** An identifier a suffix may hold, and how many digit groups it counts for. */
function safeIdentifier(g: Gen): { id: string; digitGroups: number } {
  switch (g.int(0, 3)) {
    case 0:
      return { id: String(g.int(0, 99999)), digitGroups: 1 };
    case 1: {
      // a commit id: hex digits holding at least one digit
      const length = g.int(7, 40);
      const at = g.int(0, length - 1);
      const hex = [...g.chars(HEX, length)];
      hex[at] = String(g.int(0, 9));
      const id = `${g.pick(["", "g"])}${hex.join("")}`;
      // digits only: a number, counted as one
      return { id, digitGroups: /^\d+$/.test(id) ? 1 : 0 };
    }
    case 2: {
      const digits = g.int(0, 1) === 0 ? "" : String(g.int(0, 999));
      const word = g.upperMaybe(g.pick(VERSION_WORDS));
      return {
        id: word + digits,
        digitGroups: (word + digits).match(/\d+/g)?.length ?? 0,
      };
    }
    default:
      return { id: `${g.pick([...LETTERS])}${g.int(0, 99)}`, digitGroups: 1 };
  }
}

/** A suffix within the limits: at most three digit groups, 64 characters. */
function safeSuffix(g: Gen): string {
  let suffix = g.pick(["-", "+"]);
  let groups = 0;
  for (let n = g.int(1, 4); n > 0; n--) {
    const { id, digitGroups } = safeIdentifier(g);
    if (groups + digitGroups > 3) continue;
    const next = `${suffix}${
      suffix.length > 1 ? g.pick(["-", ".", "+"]) : ""
    }${id}`;
    if (next.length > 64) break;
    suffix = next;
    groups += digitGroups;
  }
  return suffix.length > 1 ? suffix : `${suffix}rc`;
}

/** Letter runs the allowed words are made of; single letters too (`r1`, `k3s`). */
const ALLOWED_RUNS = new Set(
  VERSION_WORDS.flatMap((w) => w.match(/[a-z]+/g) ?? []),
);

/** A name of letters (with digits at the end, sometimes) that is no allowed run. */
function name(g: Gen): string {
  for (;;) {
    const letters = g.upperMaybe(g.chars(LETTERS, g.int(2, 12)));
    if (ALLOWED_RUNS.has(letters.toLowerCase())) continue;
    const named = g.int(0, 2) === 0 ? `${letters}${g.int(0, 9)}` : letters;
    // Hex letters and a digit make a commit id, which may pass.
    if (!isCommitId(named)) return named;
  }
}

function isCommitId(id: string): boolean {
  return /^g?(?=[0-9a-f]*\d)[0-9a-f]{7,40}$/i.test(id) && !/^\d+$/.test(id);
}

/**
 * What must hold for any output: a version core, then a suffix whose letter
 * runs (outside commit ids) are those of the allowed words or single letters,
 * and nothing that reads as an IPv4 address.
 */
function assertSafeOutput(input: string, out: string | undefined) {
  if (out === undefined) return;
  const m = /^v?\d+\.\d+\.\d+/.exec(out);
  assert(m, `${JSON.stringify(input)} → ${out}: no version core`);
  const suffix = out.slice(m[0].length);
  assert(
    suffix === "" || input.trim().endsWith(suffix),
    `${JSON.stringify(input)} → ${out}: the suffix was rewritten`,
  );
  for (const id of suffix.slice(1).split(/[-.+]/)) {
    if (id === "" || isCommitId(id)) continue;
    for (const run of id.match(/[a-z]+/gi) ?? []) {
      assert(
        run.length === 1 || ALLOWED_RUNS.has(run.toLowerCase()),
        `${JSON.stringify(input)} → ${out}: letter run "${run}"`,
      );
    }
  }
  assert(
    !/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/.test(out),
    `${JSON.stringify(input)} → ${out}: an IPv4-like string`,
  );
}

// ----------------------------------------------------------------- properties

Deno.test("version property: a suffix of allowed parts is kept as given", () => {
  fc.assert(
    fc.property(fc.gen(), (draw) => {
      const g = new Gen(draw);
      const version = core(g) + safeSuffix(g);
      const out = sanitizeVersion(version);
      assertEquals(out, version);
      assertSafeOutput(version, out);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("version property: one name anywhere in the suffix drops all of it", () => {
  fc.assert(
    fc.property(fc.gen(), (draw) => {
      const g = new Gen(draw);
      const c = core(g);
      const parts = safeSuffix(g).slice(1).split(/[-.+]/);
      const planted = g.pick([
        () => name(g),
        () => `${name(g)}.${name(g)}.${g.pick(["corp", "com", "local"])}`,
        () =>
          `${g.int(1, 254)}.${g.int(0, 255)}.${g.int(0, 255)}.${g.int(1, 254)}`,
        () => `${name(g)}-${name(g)}-${g.pick(["prod", "eu1", "team"])}`,
      ])();
      parts.splice(g.int(0, parts.length), 0, planted);
      const version = `${c}${g.pick(["-", "+"])}${
        parts.join(g.pick(["-", ".", "+"]))
      }`;
      const out = sanitizeVersion(version);
      assertEquals(out, c, version);
      assertSafeOutput(version, out);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("version property: any string gives nothing or a safe version", () => {
  const alphabet = `${LETTERS}ABCXYZ0123456789.-+_:/@ äö✓\t`;
  fc.assert(
    fc.property(fc.gen(), (draw) => {
      const g = new Gen(draw);
      const tail = g.chars(alphabet, g.int(0, 70));
      const input = g.int(0, 3) === 0 ? tail : core(g) + tail;
      assertSafeOutput(input, sanitizeVersion(input));
    }),
    { numRuns: RUNS },
  );
});
