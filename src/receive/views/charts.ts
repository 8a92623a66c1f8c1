// SVG charts for the receiver's pages: pure functions from numbers to markup,
// no I/O, no script. Each is sized by its viewBox at width 100% (never wider
// than its container, so it fits a 390 px phone) and carries a <title> that
// says what it shows in words. Every text is escaped by construction
// (html.ts): event content is hostile.

import { type Html, markup } from "./html.ts";
import { visible } from "../event/mod.ts";
import {
  DAY_MS as DAY,
  HOUR_MS as HOUR,
  MINUTE_MS as MINUTE,
} from "../../runtime/units.ts";

/** A value at a time (ms since the epoch). */
export type TimePoint = readonly [timeMs: number, value: number];
/** A state (true or false) from a time on (ms since the epoch). */
export type StatePoint = readonly [timeMs: number, state: boolean];

const BLUE = "#2f6fdf";
const GREY = "#d0d7de";
const INK = "#555";
const r1 = (n: number) => Math.round(n * 10) / 10;

function svg(w: number, h: number, label: string, body: Html): Html {
  return markup`<svg class="chart" viewBox="0 0 ${w} ${h}" width="100%" style="max-width:${w}px;height:auto" role="img" font-family="system-ui,sans-serif" font-size="11"><title>${label}</title>${body}</svg>`;
}

const text = (x: number, y: number, s: string, anchor = "start"): Html =>
  markup`<text x="${r1(x)}" y="${
    r1(y)
  }" text-anchor="${anchor}" fill="${INK}">${s}</text>`;

/** A number for people: at most three decimals, thousands as k and M. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${r1(v / 1e6)}M`;
  if (a >= 1e4) return `${r1(v / 1e3)}k`;
  return String(Math.round(v * 1000) / 1000);
}

const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");
const pad = (n: number) => String(n).padStart(2, "0");
/** Times a Date can hold (event times are hostile input too). */
const MAX_TIME = 8.64e15;
const isTime = (t: number) => Number.isFinite(t) && Math.abs(t) <= MAX_TIME;

/** `2026-11-26 08:00 UTC`; "an unknown time" for what a Date cannot hold. */
export const formatTime = (ms: number): string =>
  isTime(ms)
    ? new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC"
    : "an unknown time";

/**
 * Evenly spaced round values (1, 2 or 5 × 10^k apart, at least `minStep`)
 * covering [min, max].
 */
export function niceTicks(
  min: number,
  max: number,
  count = 4,
  minStep = 0,
): [number, ...number[]] {
  if (max <= min) max = min + (min === 0 ? 1 : Math.abs(min));
  const raw = Math.max((max - min) / count, minStep);
  if (!Number.isFinite(raw)) return [min, max];
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  // The first tick is at or below min, so there is always one.
  let v = Math.floor(min / step) * step;
  const ticks: [number, ...number[]] = [Number(v.toPrecision(12))];
  while (v < max) {
    v += step;
    if (!(v < max + step)) break;
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

const TIME_STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
]
  .concat([14, 28, 91, 182, 364].map((d) => d * DAY));

/** Round UTC times (whole hours or days) inside [from, to], at most `max`. */
export function timeTicks(from: number, to: number, max = 5): number[] {
  const step = TIME_STEPS.find((s) => (to - from) / s < max) ??
    TIME_STEPS.at(-1)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    ticks.push(t);
    if (ticks.length > max) break;
  }
  return ticks;
}

function tickLabel(t: number, step: number): string {
  const d = new Date(t);
  return step < DAY && t % DAY !== 0
    ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
    : `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

/** What a time series chart shows. */
export interface TimeSeriesChart {
  /** What the chart shows, said in its <title>. */
  title: string;
  /** What the values count or measure, e.g. "models", "GB". */
  unit: string;
  /** The values, in any order (sorted by time here). */
  points: readonly TimePoint[];
  /** Whole numbers (counts): no ticks between them. */
  whole?: boolean;
}

/**
 * A value over time: x placed by time, y from 0 (or below) with round ticks;
 * drawn as steps, since a snapshot holds until the next one.
 */
export function timeSeriesChart(c: TimeSeriesChart): Html {
  const [W, H, L, R, T, B] = [400, 170, 46, 12, 10, 36];
  const pts = c.points.filter(([t, v]) => isTime(t) && Number.isFinite(v))
    .toSorted((a, b) => a[0] - b[0]);
  const unit = c.unit ? ` (${c.unit})` : "";
  const [first, last] = [pts[0], pts.at(-1)];
  if (first === undefined || last === undefined) {
    return svg(
      W,
      H,
      `${c.title}${unit}: no data`,
      text(W / 2, H / 2, "no data", "middle"),
    );
  }
  const label = `${c.title}${unit}: ${formatNumber(first[1])} on ${
    formatTime(first[0])
  }${
    pts.length > 1
      ? ` → ${formatNumber(last[1])} on ${
        formatTime(last[0])
      }, ${pts.length} points`
      : ", 1 point"
  }`;
  const [lo, hi] = first[0] === last[0]
    ? [first[0] - HOUR, first[0] + HOUR]
    : [first[0], last[0]];
  const { x, y, grid } = timeAxes(
    W,
    H,
    [L, R, T, B],
    lo,
    hi,
    pts,
    c.unit,
    c.whole ? 1 : 0,
  );
  const path = pts.map(([t, v], i) =>
    i === 0 ? `M${r1(x(t))} ${r1(y(v))}` : `H${r1(x(t))}V${r1(y(v))}`
  ).join("");
  return svg(
    W,
    H,
    label,
    markup`${grid}<path d="${path}" fill="none" stroke="${BLUE}" stroke-width="1.5"/><circle cx="${
      r1(x(last[0]))
    }" cy="${r1(y(last[1]))}" r="2.5" fill="${BLUE}"/>`,
  );
}

/**
 * Time on x over [lo, hi], values on y from 0 (or below) with round ticks:
 * the scales, and the grid, ticks, axis and unit drawn.
 */
function timeAxes(
  W: number,
  H: number,
  [L, R, T, B]: readonly [number, number, number, number],
  lo: number,
  hi: number,
  pts: readonly TimePoint[],
  unit: string,
  minStep: number,
) {
  const values = pts.map((p) => p[1]);
  const yt = niceTicks(Math.min(0, ...values), Math.max(...values), 4, minStep);
  const [y0, y1] = [yt[0], yt.at(-1) ?? yt[0]];
  const x = (t: number) => L + ((t - lo) / (hi - lo)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const xt = timeTicks(lo, hi);
  const [t0, t1] = xt;
  const step = t0 !== undefined && t1 !== undefined ? t1 - t0 : hi - lo;
  const yGrid = yt.map((v) =>
    markup`<line x1="${L}" x2="${W - R}" y1="${r1(y(v))}" y2="${
      r1(y(v))
    }" stroke="#eee"/>${text(L - 4, y(v) + 4, formatNumber(v), "end")}`
  );
  const xTicks = xt.map((t) =>
    markup`<line x1="${r1(x(t))}" x2="${r1(x(t))}" y1="${H - B}" y2="${
      H - B + 4
    }" stroke="${INK}"/>${
      text(
        x(t),
        H - B + 15,
        tickLabel(t, step),
        // Labels at the ends stay inside the chart.
        x(t) < L + 20 ? "start" : x(t) > W - R - 20 ? "end" : "middle",
      )
    }`
  );
  const grid = markup`${yGrid}${xTicks}<line x1="${L}" x2="${W - R}" y1="${
    H - B
  }" y2="${H - B}" stroke="${INK}"/>${text(W - R, H - 3, "time (UTC)", "end")}${
    text(2, H - 3, unit)
  }`;
  return { x, y, grid };
}

/** What a chart of counts per day shows. */
export interface DailyChart {
  /** What the chart shows, said in its <title>. */
  title: string;
  /** What is counted per day, e.g. "clusters". */
  unit: string;
  /** (start of a UTC day, count); days missing are drawn as 0. */
  days: readonly TimePoint[];
}

/** Counts per UTC day as columns, each as wide as its day, time on x. */
export function dailyChart(c: DailyChart): Html {
  const [W, H, L, R, T, B] = [400, 170, 46, 12, 10, 36];
  const days = c.days.filter(([t, v]) => isTime(t) && Number.isFinite(v))
    .map(([t, v]): TimePoint => [Math.floor(t / DAY) * DAY, v])
    .toSorted((a, b) => a[0] - b[0]);
  const unit = c.unit ? ` (${c.unit})` : "";
  const [firstDay, lastDay] = [days[0], days.at(-1)];
  if (firstDay === undefined || lastDay === undefined) {
    return svg(
      W,
      H,
      `${c.title}${unit}: no data`,
      text(W / 2, H / 2, "no data", "middle"),
    );
  }
  const [lo, hi] = [firstDay[0], lastDay[0] + DAY];
  const byDay = new Map(days);
  const filled: TimePoint[] = [];
  for (let t = lo; t < hi; t += DAY) filled.push([t, byDay.get(t) ?? 0]);
  const last = filled.at(-1)!;
  const peak = filled.reduce((a, b) => (b[1] > a[1] ? b : a));
  const day = (t: number) => formatTime(t).slice(0, 10);
  const label = `${c.title}${unit}: ${formatNumber(last[1])} on ${
    day(last[0])
  }, ${filled.length} day(s) from ${day(lo)}, at most ${
    formatNumber(peak[1])
  } on ${day(peak[0])}`;
  const { x, y, grid } = timeAxes(
    W,
    H,
    [L, R, T, B],
    lo,
    hi,
    filled,
    c.unit,
    1,
  );
  const gap = x(lo + DAY) - x(lo) > 3 ? 0.5 : 0;
  const columns = filled.map(([t, v]) =>
    v > 0
      ? markup`<rect x="${r1(x(t) + gap)}" y="${r1(y(v))}" width="${
        r1(Math.max(x(t + DAY) - x(t) - 2 * gap, 0.3))
      }" height="${r1(y(0) - y(v))}" fill="${BLUE}" data-day="${
        day(t)
      }" data-count="${v}"><title>${`${day(t)}: ${
        formatNumber(v)
      } ${c.unit}`}</title></rect>`
      : ""
  );
  return svg(W, H, label, markup`${grid}${columns}`);
}

/** One bar: what it counts, and how many. */
export interface Bar {
  /** What is counted; "" for "not reported". */
  label: string;
  /** How many. */
  count: number;
}

/** What a bar chart shows. */
export interface BarChart {
  /** What the chart shows, said in its <title>. */
  title: string;
  /** What is counted, e.g. "clusters". */
  unit: string;
  /** The bars, in any order (largest first here). */
  bars: readonly Bar[];
  /** The whole the shares are of; the sum of the counts unless given. */
  total?: number;
  /** Bars shown; the smallest of the rest are added up as "other". */
  maxBars?: number;
}

/** Counts with their share of the whole, largest first. */
export function barChart(c: BarChart): Html {
  const [ROW, SPAN] = [22, 186];
  // Largest first; on a tie "not reported" (no label) last.
  const sorted = c.bars.filter((b) => Number.isFinite(b.count) && b.count >= 0)
    .toSorted((a, b) =>
      b.count - a.count || Number(a.label === "") - Number(b.label === "") ||
      (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)
    );
  const max = c.maxBars ?? 8;
  const rest = sorted.slice(max - 1);
  const bars = sorted.length <= max ? sorted : [
    ...sorted.slice(0, max - 1),
    {
      label: `other (${rest.length})`,
      count: rest.reduce((s, b) => s + b.count, 0),
    },
  ];
  const total = c.total ?? sorted.reduce((s, b) => s + b.count, 0);
  const share = (n: number) => total > 0 ? percent(n, total) : "";
  const label = `${c.title}: ${
    bars.length === 0
      ? "no data"
      : bars.map((b) =>
        `${b.label || "not reported"} ${b.count} ${c.unit} (${share(b.count)})`
      ).join(", ")
  }`;
  if (bars[0] === undefined) {
    return svg(400, ROW, label, text(0, 15, "no data"));
  }
  const widest = bars[0].count;
  const valueOf = (b: Bar) => `${b.count} (${share(b.count)})`;
  const [LABEL, VALUE] = columnWidths(
    bars.map((b) => b.label || "not reported"),
    bars.map(valueOf),
    130,
    84,
  );
  const W = LABEL + SPAN + VALUE;
  const rows = bars.map((b, i) => {
    const name = b.label || "not reported";
    // A count above 0 stays visible; 0 draws nothing.
    const w = b.count > 0 ? Math.max((SPAN * b.count) / widest, 1) : 0;
    return markup`<g data-label="${name}" data-count="${b.count}"><title>${`${name}: ${b.count} ${c.unit} (${
      share(b.count)
    })`}</title>${text(0, i * ROW + 15, name)}<rect x="${LABEL}" y="${
      i * ROW + 4
    }" width="${r1(w)}" height="${ROW - 8}" fill="${BLUE}"/>${
      text(LABEL + w + 4, i * ROW + 15, valueOf(b))
    }</g>`;
  });
  return svg(W, bars.length * ROW, label, markup`${rows}`);
}

/** What a strip of states over time shows. */
export interface StateStrip {
  /** What the chart shows, said in its <title>. */
  title: string;
  /** The states, in any order (sorted by time here). */
  points: readonly StatePoint[];
  /** Where the last state's span ends (e.g. now); the last point unless given. */
  until?: number;
}

/** A boolean over time as spans of true and false, not a line. */
export function stateStrip(c: StateStrip): Html {
  const [W, H, BAR] = [400, 34, 14];
  const pts = c.points.filter(([t]) => isTime(t))
    .toSorted((a, b) => a[0] - b[0]);
  const [first, lastPoint] = [pts[0], pts.at(-1)];
  if (first === undefined || lastPoint === undefined) {
    return svg(
      W,
      H,
      `${c.title}: no data`,
      text(W / 2, 12, "no data", "middle"),
    );
  }
  const spans: Array<{ from: number; to: number; state: boolean }> = [];
  for (const [t, state] of pts) {
    const open = spans.at(-1);
    if (open?.state === state) continue;
    if (open) open.to = t;
    spans.push({ from: t, to: t, state });
  }
  const last = lastPoint[0];
  const end = c.until !== undefined && isTime(c.until)
    ? Math.max(c.until, last)
    : last;
  const [lo, hi] = [first[0], end > first[0] ? end : first[0] + 1];
  spans.at(-1)!.to = hi;
  const x = (t: number) => ((t - lo) / (hi - lo)) * W;
  const states = spans.length <= 4
    ? spans.map((s) => s.state).join(" → ")
    : `${first[1]} → … → ${spans.at(-1)!.state} (${spans.length - 1} changes)`;
  const label = `${c.title}: ${states}, ${formatTime(lo)} to ${
    formatTime(end)
  }`;
  const rects = spans.map((s) =>
    markup`<rect x="${r1(x(s.from))}" y="0" width="${
      r1(Math.max(x(s.to) - x(s.from), 1))
    }" height="${BAR}" fill="${s.state ? BLUE : GREY}" data-state="${
      String(s.state)
    }"><title>${`${s.state} from ${formatTime(s.from)} to ${
      formatTime(s.to)
    }`}</title></rect>`
  );
  return svg(
    W,
    H,
    label,
    markup`${rects}${text(0, H - 4, formatTime(lo))}${
      text(W, H - 4, formatTime(end), "end")
    }<rect x="${W / 2 - 44}" y="${
      H - 12
    }" width="8" height="8" fill="${BLUE}"/>${
      text(W / 2 - 32, H - 4, "true")
    }<rect x="${W / 2 + 2}" y="${
      H - 12
    }" width="8" height="8" fill="${GREY}"/>${
      text(W / 2 + 14, H - 4, "false")
    }`,
  );
}

/** The p-quantile of sorted values, interpolating between neighbours. */
export function quantile(sorted: readonly number[], p: number): number {
  const i = (sorted.length - 1) * p;
  const [a, b] = [sorted[Math.floor(i)], sorted[Math.ceil(i)]];
  if (a === undefined || b === undefined) return NaN; // no values
  return a + (b - a) * (i - Math.floor(i));
}

/** What a distribution chart shows. */
export interface Distribution {
  /** What the chart shows, said in its <title>. */
  title: string;
  /** What the values measure, e.g. "models". */
  unit: string;
  /** One value per cluster. */
  values: readonly number[];
}

/** Quartiles, median and max of a size metric across clusters, as a box on an axis. */
export function distributionChart(c: Distribution): Html {
  const [W, H, M] = [400, 72, 12];
  const v = c.values.filter(Number.isFinite).toSorted((a, b) => a - b);
  const [min, max] = [v[0], v.at(-1)];
  if (min === undefined || max === undefined) {
    return svg(
      W,
      H,
      `${c.title} (${c.unit}): no data`,
      text(W / 2, 20, "no data", "middle"),
    );
  }
  const [q1, med, q3] = [
    quantile(v, 0.25),
    quantile(v, 0.5),
    quantile(v, 0.75),
  ];
  const total = v.reduce((s, n) => s + n, 0);
  const ticks = niceTicks(Math.min(0, min), max);
  const [a, b] = [ticks[0], ticks.at(-1) ?? ticks[0]];
  const x = (n: number) => M + ((n - a) / (b - a)) * (W - 2 * M);
  const f = formatNumber;
  const label = `${c.title} (${c.unit}) over ${v.length} cluster(s): median ${
    f(med)
  }, quartiles ${f(q1)}–${f(q3)}, max ${f(max)}, total ${f(total)}`;
  const axis = markup`<line x1="${M}" x2="${
    W - M
  }" y1="28" y2="28" stroke="${INK}"/>${
    ticks.map((t) =>
      markup`<line x1="${r1(x(t))}" x2="${
        r1(x(t))
      }" y1="28" y2="32" stroke="${INK}"/>${
        text(
          x(t),
          43,
          formatNumber(t),
          t === a ? "start" : t === b ? "end" : "middle",
        )
      }`
    )
  }`;
  return svg(
    W,
    H,
    label,
    markup`<line x1="${r1(x(min))}" x2="${
      r1(x(max))
    }" y1="13" y2="13" stroke="${INK}"/><rect x="${r1(x(q1))}" y="5" width="${
      r1(Math.max(x(q3) - x(q1), 1))
    }" height="16" fill="${GREY}" stroke="${INK}"/><line x1="${
      r1(x(med))
    }" x2="${
      r1(x(med))
    }" y1="5" y2="21" stroke="${BLUE}" stroke-width="2"/><circle cx="${
      r1(x(max))
    }" cy="13" r="2.5" fill="${INK}"/>${axis}${
      text(
        M,
        64,
        `median ${f(med)} · quartiles ${f(q1)}–${f(q3)} · max ${
          f(max)
        } ${c.unit}`,
      )
    }`,
  );
}

/** One share of a share chart: how many of how many have something. */
export interface Share {
  /** What they have. */
  label: string;
  /** How many have it. */
  count: number;
  /** Of how many: its own whole (e.g. the clusters that reported it). */
  of: number;
}

/** What a share chart shows. */
export interface ShareChart {
  /** What the chart shows, said in its <title>. */
  title: string;
  /** What is counted, e.g. "clusters". */
  unit: string;
  /** The shares, in the order shown. */
  rows: readonly Share[];
}

/**
 * A share as a percentage (one decimal below 10 %) that never says all or
 * none when it is not: 3000 of 3001 is 99.9 %, not 100 %; 1 of 5000 is 0.1 %.
 */
export function percent(count: number, of: number): string {
  const p = (100 * count) / of;
  const digits = p < 10 ? 1 : 0;
  let shown = Number(p.toFixed(digits));
  if (count < of && shown >= 100) shown = Math.floor(p * 10) / 10;
  if (count > 0 && shown === 0) shown = 0.1;
  return `${shown.toFixed(shown < 10 || !Number.isInteger(shown) ? 1 : 0)}%`;
}

/** Width of a text in the charts' 11 px font, with room to spare (wide digits, capitals). */
const textWidth = (s: string) => Math.ceil([...s].length * 6.8);

/** The label and value columns, wide enough for every text in them (never cut), at least the given widths. */
function columnWidths(
  labels: readonly string[],
  values: readonly string[],
  minLabel: number,
  minValue: number,
): [number, number] {
  const widest = (texts: readonly string[]) =>
    texts.reduce((w, t) => Math.max(w, textWidth(visible(t))), 0);
  return [
    Math.max(minLabel, widest(labels) + 8),
    Math.max(minValue, widest(values) + 8),
  ];
}

/** Shares, each of its own whole, on one 0–100 % scale, in the order given. */
export function shareChart(c: ShareChart): Html {
  const [ROW, span] = [22, 158];
  const rows = c.rows.filter((s) =>
    Number.isFinite(s.count) && Number.isFinite(s.of) && s.count >= 0 &&
    s.of >= 0
  );
  const pct = (s: Share) => s.of > 0 ? (100 * s.count) / s.of : 0;
  const said = (s: Share) =>
    s.of > 0
      ? `${s.count} of ${s.of} (${percent(s.count, s.of)})`
      : "not reported";
  const label = `${c.title}: ${
    rows.length === 0
      ? "no data"
      : rows.map((s) => `${s.label} ${said(s)} ${c.unit}`).join(", ")
  }`;
  if (rows.length === 0) return svg(400, ROW, label, text(0, 15, "no data"));
  const [LABEL, VALUE] = columnWidths(
    rows.map((s) => s.label),
    rows.map(said),
    130,
    112,
  );
  const W = LABEL + span + VALUE;
  const body = rows.map((s, i) => {
    const w = s.count > 0
      ? Math.max((span * Math.min(pct(s), 100)) / 100, 1)
      : 0;
    return markup`<g data-label="${s.label}" data-count="${s.count}" data-of="${s.of}"><title>${`${s.label}: ${
      said(s)
    } ${c.unit}`}</title>${
      text(0, i * ROW + 15, s.label)
    }<rect x="${LABEL}" y="${i * ROW + 4}" width="${span}" height="${
      ROW - 8
    }" fill="${GREY}"/><rect x="${LABEL}" y="${i * ROW + 4}" width="${
      r1(w)
    }" height="${ROW - 8}" fill="${BLUE}"/>${
      text(LABEL + span + 4, i * ROW + 15, said(s))
    }</g>`;
  });
  return svg(W, rows.length * ROW, label, markup`${body}`);
}
