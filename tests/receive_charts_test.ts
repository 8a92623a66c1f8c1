// The receiver's SVG charts as pure functions: where things are drawn (x by
// time, round ticks, bar lengths, spans, quartiles), what the <title> says (first
// and last value in time order), hostile text kept as text, and empty or
// single-point input.

import {
  assert,
  assertEquals,
  assertMatch,
  captured,
  leading,
  nth,
} from "./assert.ts";
import {
  barChart,
  dailyChart,
  distributionChart,
  formatNumber,
  formatTime,
  niceTicks,
  quantile,
  shareChart,
  stateStrip,
  timeSeriesChart,
  timeTicks,
} from "../src/receive/views/charts.ts";
import { DAY_MS, HOUR_MS } from "../src/runtime/units.ts";

const T0 = Date.UTC(2026, 10, 1); // Nov 1 2026, 00:00 UTC
const HOSTILE = `<script>alert(1)</script><img src=x onerror="alert(2)">'&`;

type Attrs = Record<string, string | undefined>;
/** The attributes of every `<tag ...>` in the markup. */
function elements(svg: string, tag: string): Attrs[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, "g"))].map((m) =>
    Object.fromEntries(
      [...nth(m, 1).matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]),
    )
  );
}
const num = (a: Attrs, k: string) => Number(a[k]);
const pathData = (a: Attrs) => a.d ?? "";
const title = (svg: string) => captured(/<title>([^<]*)<\/title>/, svg);
const near = (a: number, b: number, what: string) =>
  assert(Math.abs(a - b) < 0.2, `${what}: ${a} is not ${b}`);

/** Only the chart's own elements: no markup can come from the text. */
function assertOnlyChartMarkup(svg: string) {
  for (const m of svg.matchAll(/<\/?([^\s>/]*)/g)) {
    assert(
      ["svg", "title", "text", "line", "path", "circle", "rect", "g"]
        .includes(nth(m, 1)),
      `unexpected <${m[1]}> in ${svg}`,
    );
  }
}

function assertScales(svg: string) {
  const root = nth(elements(svg, "svg"), 0);
  assertMatch(root.viewBox ?? "", /^0 0 \d+ \d+$/);
  assertEquals(root.width, "100%");
  assertEquals(root.height, undefined);
}

/** The vertices of a path of M, H and V commands. */
function vertices(d: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let [x, y] = [0, 0];
  for (const [, cmd, a, b] of d.matchAll(/([MHV])([\d.-]+)(?: ([\d.-]+))?/g)) {
    if (cmd === "M") [x, y] = [Number(a), Number(b)];
    if (cmd === "H") x = Number(a);
    if (cmd === "V") {
      y = Number(a);
      out.push([x, y]);
    }
    if (cmd === "M") out.push([x, y]);
  }
  return out;
}

Deno.test("formatNumber and formatTime read as people write them", () => {
  assertEquals(formatNumber(1234), "1234");
  assertEquals(formatNumber(12_345), "12.3k");
  assertEquals(formatNumber(2_500_000), "2.5M");
  assertEquals(formatNumber(0.12345), "0.123");
  assertEquals(formatNumber(-20_000), "-20k");
  assertEquals(formatTime(T0 + 8 * HOUR_MS), "2026-11-01 08:00 UTC");
});

Deno.test("niceTicks: round, evenly spaced, covering the values", () => {
  assertEquals(niceTicks(0, 100), [0, 50, 100]);
  assertEquals(niceTicks(0, 7), [0, 2, 4, 6, 8]);
  assertEquals(niceTicks(0, 0), [0, 0.5, 1]);
  assertEquals(niceTicks(0, 0.3), [0, 0.1, 0.2, 0.3]);
  assertEquals(niceTicks(-3, 12), [-5, 0, 5, 10, 15]);
  const ranges: Array<[number, number]> = [
    [0, 42],
    [0, 1e6 + 1],
    [5, 5.01],
    [-0.4, 0.9],
  ];
  for (const [lo, hi] of ranges) {
    const t = niceTicks(lo, hi);
    assert(t[0] <= lo && t.at(-1)! >= hi, `${t} covers ${lo}..${hi}`);
    assert(t.length <= 6, `${t}: at most 6 ticks`);
    const step = nth(t, 1) - t[0];
    const mantissa = Number(
      (step / 10 ** Math.floor(Math.log10(step))).toPrecision(6),
    );
    assert([1, 2, 5].includes(mantissa), `step ${step}`);
    for (let i = 1; i < t.length; i++) {
      near(nth(t, i) - nth(t, i - 1), step, "spacing");
    }
  }
});

Deno.test("niceTicks: counts get whole steps only", () => {
  assertEquals(niceTicks(0, 1, 4, 1), [0, 1]);
  assertEquals(niceTicks(0, 0, 4, 1), [0, 1]);
  assertEquals(niceTicks(0, 3, 4, 1), [0, 1, 2, 3]);
  assertEquals(niceTicks(0, 100, 4, 1), [0, 50, 100]);
});

Deno.test("timeTicks: whole hours or days, inside the range, at most five", () => {
  assertEquals(
    timeTicks(T0 + 30 * 60_000, T0 + 4 * HOUR_MS),
    [1, 2, 3, 4].map((h) => T0 + h * HOUR_MS),
  );
  const month = timeTicks(T0, T0 + 30 * DAY_MS);
  assert(month.length >= 2 && month.length <= 5, `${month.length} ticks`);
  assertEquals(nth(month, 1) - nth(month, 0), 7 * DAY_MS);
  for (const t of month) {
    assert(t >= T0 && t <= T0 + 30 * DAY_MS && t % DAY_MS === 0, formatTime(t));
  }
});

Deno.test("time series: x is placed by time, not evenly; y from 0 with round ticks and the unit", () => {
  // Three points, the second one hour after the first, the third ten hours after.
  const svg = timeSeriesChart({
    title: "models",
    unit: "models",
    points: [[T0, 3], [T0 + HOUR_MS, 7], [T0 + 10 * HOUR_MS, 42]],
  });
  assertScales(svg);
  const path = nth(elements(svg, "path"), 0);
  const v = vertices(pathData(path));
  assertEquals(v.length, 3);
  near(
    (nth(nth(v, 1), 0) - nth(nth(v, 0), 0)) /
      (nth(nth(v, 2), 0) - nth(nth(v, 0), 0)),
    0.1,
    "x of the second point",
  );
  // y: 0..60 in steps of 20, a grid line at each, values placed on that scale.
  for (const tick of ["0", "20", "40", "60"]) {
    assert(svg.includes(`>${tick}</text>`), `y tick ${tick}`);
  }
  const grid = elements(svg, "line").filter((l) =>
    l.y1 === l.y2 && l.stroke === "#eee"
  ).map((l) => num(l, "y1"));
  assertEquals(grid.length, 4);
  const [y0, y60] = [nth(grid, 0), nth(grid, 3)];
  near(nth(nth(v, 0), 1), y0 + (y60 - y0) * 3 / 60, "y of 3");
  near(nth(nth(v, 2), 1), y0 + (y60 - y0) * 42 / 60, "y of 42");
  assert(svg.includes(">models</text>"), "the unit is on the chart");
  assert(svg.includes(">time (UTC)</text>"));
  // x ticks every 3 hours, midnight as a date, placed by time too.
  for (const tick of ["Nov 1", "03:00", "06:00", "09:00"]) {
    assert(svg.includes(`>${tick}</text>`), `x tick ${tick}`);
  }
  const ticks = elements(svg, "line").filter((l) =>
    l.x1 === l.x2 && l.stroke !== "#eee"
  ).map((l) => num(l, "x1"));
  assertEquals(ticks.length, 4);
  near(
    nth(ticks, 1),
    nth(nth(v, 0), 0) + (nth(nth(v, 2), 0) - nth(nth(v, 0), 0)) * 0.3,
    "x of 03:00",
  );
});

Deno.test("time series: the tooltip gives first and last value in time order, not min–max", () => {
  // Given out of order; the value fell from 100 to 1.
  const svg = timeSeriesChart({
    title: "model_count",
    unit: "models",
    points: [[T0 + 2 * DAY_MS, 1], [T0, 100], [T0 + DAY_MS, 50]],
  });
  assertEquals(
    title(svg),
    "model_count (models): 100 on 2026-11-01 00:00 UTC → 1 on 2026-11-03 00:00 UTC, 3 points",
  );
  const v = vertices(pathData(nth(elements(svg, "path"), 0)));
  assert(
    nth(nth(v, 0), 1) < nth(nth(v, 2), 1),
    "drawn in time order: starts high, ends low",
  );
  const dot = nth(elements(svg, "circle"), 0);
  assertEquals([num(dot, "cx"), num(dot, "cy")], v[2], "the latest is marked");
});

Deno.test("time series: empty, single-point and non-finite input", () => {
  const empty = timeSeriesChart({ title: "x", unit: "", points: [] });
  assertScales(empty);
  assertEquals(title(empty), "x: no data");
  assert(empty.includes(">no data</text>"));
  assertEquals(elements(empty, "path"), []);

  const one = timeSeriesChart({
    title: "x",
    unit: "GB",
    points: [[T0, 5], [NaN, 1], [T0 + HOUR_MS, Infinity]],
  });
  assertScales(one);
  assertEquals(title(one), "x (GB): 5 on 2026-11-01 00:00 UTC, 1 point");
  const root = nth(elements(one, "svg"), 0);
  const width = Number(nth(root.viewBox?.split(" ") ?? [], 2));
  const dot = nth(elements(one, "circle"), 0);
  const path = nth(elements(one, "path"), 0);
  assertEquals(vertices(pathData(path)).length, 1);
  // Centred between the y axis labels and the right edge.
  assert(num(dot, "cx") > width / 3 && num(dot, "cx") < width * 0.75);
});

Deno.test("bar chart: largest first, lengths proportional to counts, count and share written", () => {
  const svg = barChart({
    title: "Seldon Core",
    unit: "clusters",
    bars: [
      { label: "2.8.0", count: 3 },
      { label: "", count: 1 },
      { label: "2.9.0", count: 6 },
    ],
  });
  assertScales(svg);
  const rows = elements(svg, "g");
  assertEquals(rows.map((r) => r["data-label"]), [
    "2.9.0",
    "2.8.0",
    "not reported",
  ]);
  const widths = elements(svg, "rect").map((r) => num(r, "width"));
  near(nth(widths, 1) / nth(widths, 0), 0.5, "3 is half of 6");
  for (const s of ["6 (60%)", "3 (30%)", "1 (10%)"]) {
    assert(svg.includes(`>${s}</text>`), s);
  }
  assertEquals(
    title(svg),
    "Seldon Core: 2.9.0 6 clusters (60%), 2.8.0 3 clusters (30%), not reported 1 clusters (10%)",
  );
});

Deno.test("bar chart: shares of a given whole, the tail added up as other, nothing to show", () => {
  const svg = barChart({
    title: "GPU",
    unit: "clusters",
    total: 200,
    maxBars: 3,
    bars: ["a", "b", "c", "d", "e"].map((label, i) => ({
      label,
      count: 50 - i * 10,
    })),
  });
  const rows = elements(svg, "g");
  assertEquals(rows.map((r) => [r["data-label"], r["data-count"]]), [
    ["a", "50"],
    ["b", "40"],
    ["other (3)", "60"],
  ]);
  assert(svg.includes(">50 (25%)</text>"), svg);
  // None of 37 clusters is still an answer.
  const none = barChart({
    title: "GPU",
    unit: "clusters",
    total: 37,
    bars: [{ label: "GPU", count: 0 }],
  });
  assertEquals(title(none), "GPU: GPU 0 clusters (0.0%)");
  assertEquals(nth(elements(none, "rect"), 0).width, "0");
  const empty = barChart({ title: "t", unit: "clusters", bars: [] });
  assertScales(empty);
  assertEquals(title(empty), "t: no data");
});

Deno.test("state strip: spans of true and false over time, ending at `until`", () => {
  const svg = stateStrip({
    title: "GPU in use",
    points: [
      [T0 + 5 * HOUR_MS, true],
      [T0, false],
      [T0 + HOUR_MS, false],
      [T0 + 2 * HOUR_MS, true],
      [T0 + 6 * HOUR_MS, false],
    ],
    until: T0 + 10 * HOUR_MS,
  });
  assertScales(svg);
  const width = Number(
    nth(nth(elements(svg, "svg"), 0).viewBox?.split(" ") ?? [], 2),
  );
  const spans = elements(svg, "rect").filter((r) => r["data-state"]).map((
    r,
  ) => [
    r["data-state"],
    Math.round(10 * num(r, "x") / width),
    Math.round(10 * num(r, "width") / width),
  ]);
  assertEquals(spans, [["false", 0, 2], ["true", 2, 4], ["false", 6, 4]]);
  assertEquals(
    title(svg),
    "GPU in use: false → true → false, 2026-11-01 00:00 UTC to 2026-11-01 10:00 UTC",
  );
  assert(
    svg.includes(
      "<title>true from 2026-11-01 02:00 UTC to 2026-11-01 06:00 UTC</title>",
    ),
  );
  assertEquals(elements(svg, "path"), [], "no line");
  const flapping = stateStrip({
    title: "overcommit",
    points: Array.from(
      { length: 9 },
      (_, i) => [T0 + i * HOUR_MS, i % 2 === 0],
    ),
  });
  assertMatch(title(flapping), /^overcommit: true → … → true \(8 changes\), /);
  assertEquals(
    elements(flapping, "rect").filter((r) => r["data-state"]).length,
    9,
  );
});

Deno.test("state strip: one point fills the strip; none says no data", () => {
  const one = stateStrip({ title: "t", points: [[T0, true]] });
  const rects = elements(one, "rect");
  const [rect, legend] = [nth(rects, 0), rects.slice(1)];
  assertEquals(legend.map((r) => r["data-state"]), [undefined, undefined]);
  assertEquals(rect["data-state"], "true");
  assertEquals(rect.x, "0");
  assertEquals(
    num(rect, "width"),
    Number(nth(nth(elements(one, "svg"), 0).viewBox?.split(" ") ?? [], 2)),
  );
  const none = stateStrip({ title: "t", points: [] });
  assertEquals(title(none), "t: no data");
  assertEquals(elements(none, "rect").filter((r) => r["data-state"]), []);
});

Deno.test("quantile interpolates between neighbours", () => {
  assertEquals(quantile([1, 2, 3, 4], 0.5), 2.5);
  assertEquals(quantile([1, 2, 3, 4], 0.25), 1.75);
  assertEquals(quantile([1, 2, 3, 4], 0.75), 3.25);
  assertEquals(quantile([7], 0.5), 7);
  assertEquals(quantile([0, 10], 1), 10);
});

Deno.test("distribution: median, quartiles and max of a size metric, drawn to scale", () => {
  const values = [0, 10, 20, 30, 40, 50, 60, 70, 80, 1000];
  const svg = distributionChart({
    title: "models per cluster",
    unit: "models",
    values: values.toReversed(),
  });
  assertScales(svg);
  assertEquals(
    title(svg),
    "models per cluster (models) over 10 cluster(s): median 45, quartiles 22.5–67.5, max 1000, total 1360",
  );
  const box = nth(elements(svg, "rect"), 0);
  const [whisker, median] = leading(elements(svg, "line"), 2);
  const max = nth(elements(svg, "circle"), 0);
  const x0 = num(whisker, "x1");
  const scale = (num(max, "cx") - x0) / 1000;
  near(num(box, "x"), x0 + 22.5 * scale, "q1");
  near(num(box, "x") + num(box, "width"), x0 + 67.5 * scale, "q3");
  near(num(median, "x1"), x0 + 45 * scale, "median");
  assert(svg.includes("median 45 · quartiles 22.5–67.5 · max 1000 models"));

  const empty = distributionChart({ title: "t", unit: "u", values: [] });
  assertEquals(title(empty), "t (u): no data");
  const one = distributionChart({ title: "t", unit: "u", values: [5, NaN] });
  assertMatch(
    title(one),
    /over 1 cluster\(s\): median 5, quartiles 5–5, max 5/,
  );
});

Deno.test("hostile text stays text in every chart", () => {
  const charts = [
    timeSeriesChart({
      title: HOSTILE,
      unit: HOSTILE,
      points: [[T0, 1], [T0 + HOUR_MS, 2]],
    }),
    barChart({
      title: HOSTILE,
      unit: HOSTILE,
      bars: [{ label: HOSTILE, count: 2 }, { label: "x", count: 1 }],
    }),
    shareChart({
      title: HOSTILE,
      unit: HOSTILE,
      rows: [{ label: HOSTILE, count: 1, of: 2 }],
    }),
    dailyChart({ title: HOSTILE, unit: HOSTILE, days: [[T0, 1]] }),
    stateStrip({ title: HOSTILE, points: [[T0, true], [T0 + HOUR_MS, false]] }),
    distributionChart({ title: HOSTILE, unit: HOSTILE, values: [1, 2, 3] }),
  ];
  for (const svg of charts) {
    assertOnlyChartMarkup(svg);
    assert(!svg.includes("<script"), svg);
    assert(svg.includes("&lt;script&gt;"), svg);
    // Every attribute is name="value": the text cannot leave its quotes.
    for (const [tag] of svg.matchAll(/<[^>]*>/g)) {
      assertMatch(tag.replace(/ [\w:-]+="[^"]*"/g, ""), /^<\/?\w+\/?>$/);
    }
  }
});

Deno.test("times no date can hold are left out, not thrown on", () => {
  const huge = timeSeriesChart({
    title: "t",
    unit: "",
    points: [[1e300, 1], [-9e15, 2], [T0, 3]],
  });
  assertEquals(title(huge), "t: 3 on 2026-11-01 00:00 UTC, 1 point");
  const strip = stateStrip({
    title: "s",
    points: [[1e300, true], [T0, false]],
    until: NaN,
  });
  assertEquals(
    title(strip),
    "s: false, 2026-11-01 00:00 UTC to 2026-11-01 00:00 UTC",
  );
  assertEquals(formatTime(1e300), "an unknown time");
  assertEquals(niceTicks(-1e308, 1e308), [-1e308, 1e308]);
  assert(timeTicks(0, 1e15).length <= 6);
});

Deno.test("daily chart: one column a day, as wide as the day, days without events drawn as none", () => {
  // Given out of order, a day missing, a time inside a day.
  const svg = dailyChart({
    title: "Clusters heard from per day",
    unit: "clusters",
    days: [[T0 + 3 * DAY_MS, 30], [T0, 10], [T0 + DAY_MS + 5 * HOUR_MS, 20]],
  });
  assertScales(svg);
  const columns = elements(svg, "rect");
  assertEquals(
    columns.map((c) => [c["data-day"], c["data-count"]]),
    [["2026-11-01", "10"], ["2026-11-02", "20"], ["2026-11-04", "30"]],
  );
  const [a, b, c] = leading(columns, 3);
  // Four days across: each column a quarter of the plot, placed by its day.
  const dayWidth = num(b, "x") - num(a, "x");
  near(
    num(c, "x") - num(a, "x"),
    3 * dayWidth,
    "the missing day keeps its place",
  );
  assert(num(a, "width") <= dayWidth && num(a, "width") > dayWidth * 0.8);
  // Heights to scale from the same baseline.
  near(num(c, "height") / num(a, "height"), 3, "30 is three times 10");
  near(num(a, "y") + num(a, "height"), num(c, "y") + num(c, "height"), "base");
  assertEquals(
    title(svg),
    "Clusters heard from per day (clusters): 30 on 2026-11-04, 4 day(s) from 2026-11-01, at most 30 on 2026-11-04",
  );
  assert(
    svg.includes(">time (UTC)</text>") && svg.includes(">clusters</text>"),
  );
  const none = dailyChart({ title: "t", unit: "clusters", days: [] });
  assertEquals(title(none), "t (clusters): no data");
});

Deno.test("share chart: each share of its own whole, on one scale, in the order given", () => {
  const svg = shareChart({
    title: "Feature adoption",
    unit: "clusters",
    rows: [
      { label: "GPUs", count: 5, of: 10 },
      { label: "Overcommit", count: 3, of: 30 },
      { label: "Global", count: 0, of: 0 },
    ],
  });
  assertScales(svg);
  const rows = elements(svg, "g");
  assertEquals(
    rows.map((r) => [r["data-label"], r["data-count"], r["data-of"]]),
    [["GPUs", "5", "10"], ["Overcommit", "3", "30"], ["Global", "0", "0"]],
  );
  // Per row: the whole (grey) then the share (blue).
  const rects = elements(svg, "rect");
  const whole = num(nth(rects, 0), "width");
  near(num(nth(rects, 1), "width") / whole, 0.5, "5 of 10");
  near(num(nth(rects, 3), "width") / whole, 0.1, "3 of 30");
  assertEquals(num(nth(rects, 5), "width"), 0);
  for (const s of ["5 of 10 (50%)", "3 of 30 (10%)", "not reported"]) {
    assert(svg.includes(`>${s}</text>`), s);
  }
  assertEquals(
    title(svg),
    "Feature adoption: GPUs 5 of 10 (50%) clusters, Overcommit 3 of 30 (10%) clusters, Global not reported clusters",
  );
});

Deno.test("distribution: an axis with round ticks from 0 under the box", () => {
  const svg = distributionChart({
    title: "models",
    unit: "models",
    values: [10, 20, 30, 40, 170],
  });
  for (const tick of ["0", "50", "100", "150", "200"]) {
    assert(svg.includes(`>${tick}</text>`), `tick ${tick}`);
  }
  const ticks = elements(svg, "line").filter((l) =>
    l.y1 === "28" && l.y2 === "32"
  )
    .map((l) => num(l, "x1"));
  assertEquals(ticks.length, 5);
  const max = nth(elements(svg, "circle"), 0);
  near(
    num(max, "cx"),
    nth(ticks, 0) + (nth(ticks, 4) - nth(ticks, 0)) * 170 / 200,
    "170 on the axis",
  );
});
