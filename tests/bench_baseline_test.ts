// The bench's --baseline mode, its pure parts: how a figure of two trees is
// judged (unchanged or better within 5 %, whichever way is better), the rows
// it prints, and the spellings of the overview that make a receiver render it
// anew.

import { assert, assertEquals } from "./assert.ts";
import {
  type Compared,
  freshOverview,
  judge,
  report,
  TOLERANCE,
} from "../scripts/bench/baseline.ts";
import { DEFAULT_VIEW, parseView } from "../src/receive/views/cluster_list.ts";

const figure = (
  better: "higher" | "lower",
  base: number,
  head: number,
): Compared => ({ figure: "f", unit: "u", better, base, head });

Deno.test("baseline: a rate may drop 5 %, a time or a size may grow 5 %, no more", () => {
  assertEquals(TOLERANCE, 0.05);
  assert(judge(figure("higher", 100, 95)).pass);
  assert(!judge(figure("higher", 100, 94.9)).pass);
  assert(judge(figure("higher", 100, 180)).pass);
  assert(judge(figure("lower", 100, 105)).pass);
  assert(!judge(figure("lower", 100, 105.1)).pass);
  assert(judge(figure("lower", 100, 20)).pass);
  assertEquals(judge(figure("lower", 100, 105)).ratio, 1.05);
  // Nothing measured is never a pass.
  assert(!judge(figure("lower", 0, 0)).pass);
  assert(!judge(figure("higher", NaN, 1)).pass);
});

Deno.test("baseline: a row per figure with both trees and the ratio, a verdict each", () => {
  const { rows, verdicts } = report([
    {
      figure: "receiver: requests/s",
      unit: "req/s",
      better: "higher",
      base: 1000,
      head: 900,
    },
    { figure: "page: time", unit: "ms", better: "lower", base: 2, head: 2.04 },
  ], ["base main", "head"]);
  assertEquals(rows, [
    ["figure", "base main", "head", "head/base"],
    ["receiver: requests/s", "1,000 req/s", "900 req/s", "0.9"],
    ["page: time", "2 ms", "2.04 ms", "1.02"],
  ]);
  assertEquals(verdicts.map((v) => v.pass), [false, true]);
  assert(verdicts[0]!.budget.includes("higher is better"));
});

Deno.test("baseline: the overview's fresh spellings are 256 keys of one view, the default list", () => {
  const spellings = new Set<string>();
  for (let n = 0; n < 256; n++) {
    const path = freshOverview(n);
    spellings.add(path);
    const parsed = parseView(path.slice(2));
    assert(parsed.ok, path);
    assertEquals(parsed.view, { ...DEFAULT_VIEW, versions: {} }, path);
  }
  assertEquals(spellings.size, 256);
});
