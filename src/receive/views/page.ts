// What the receiver's HTML pages share: the policy they are served under, the
// document around them (inline CSS, no script, nothing fetched from anywhere),
// and the sentence that says truthfully what this receiver keeps. Every piece
// of event content is escaped by construction (html.ts): it is hostile input.

import type { RecordLevel } from "../../config/levels.ts";
import type { ClusterBook } from "../store/mod.ts";
import { formatTime } from "./charts.ts";
import { escapeHtml, type Html, markup, trusted } from "./html.ts";
import { SECOND_MS } from "../../runtime/units.ts";

export { escapeHtml };

/**
 * The pages' Content-Security-Policy, as Hono's secure-headers middleware
 * takes it (the app sends it with every answer of the read side): nothing may
 * load from anywhere; only the inline style, and forms sent back here.
 */
export const PAGE_CSP_DIRECTIVES: Readonly<Record<string, string[]>> = {
  defaultSrc: ["'none'"],
  styleSrc: ["'unsafe-inline'"],
  imgSrc: ["data:"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** The Content-Security-Policy header of PAGE_CSP_DIRECTIVES, as sent. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The headers of a page's render (the app adds the secure headers). A page
 * is revalidated on every visit (its ETag names the store state it shows:
 * serve/read_side.ts), never kept by shared caches with a page for another
 * reader.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "private, no-cache",
};

/** A page's answer: its status and its HTML. */
export interface PageAnswer {
  /** 200, or the status of a problem with the request. */
  status: number;
  /** The whole document. */
  html: string;
}

/** What every page is told about the receiver. */
export interface PageContext {
  /** The latest snapshot of each cluster. */
  clusters: ClusterBook;
  /** What the receiver keeps of the events. */
  recordLevel: RecordLevel;
  /** Events counted by the store (see keptSentence for what that means per level). */
  totalEvents: number;
  /** Events held now; 0 when none are kept. */
  heldEvents: number;
  /** Where events are kept; null when they are not. */
  keptIn: "memory" | "sqlite" | null;
  /** The time the page is rendered at (ms since the epoch). */
  now: number;
  /** Events recorded since start that are not hodometer's (no cluster's); 0 unless given. */
  otherEvents?: number;
}

/** What the page says of events that are not hodometer's, when there were any. */
export function otherEventsSentence(c: PageContext): Html | "" {
  const other = c.otherEvents ?? 0;
  if (other === 0) return "";
  return markup` <span id="other-events">${grouped(other)} event${
    other === 1 ? "" : "s"
  } received since start ${
    other === 1 ? "is" : "are"
  } not hodometer's (other Mixpanel events): kept as events, not counted as clusters.</span>`;
}

const STYLE = trusted(`
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:1400px;color:#1b1f24;background:#fafafa;overflow-wrap:anywhere}
h1{font-size:1.4rem;margin:0 0 .25rem}
h2{font-size:1.15rem;margin:1.75rem 0 .5rem}
h3{font-size:.95rem;margin:0 0 .4rem}
a{color:#1f5fbf}
p{margin:.3rem 0}
.lead{color:#444;margin:0 0 1rem}
.note{color:#555;font-size:.9rem}
.problem{background:#fff4e5;border:1px solid #e8b86d;border-radius:6px;padding:.5rem .75rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,340px),1fr));gap:.75rem}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.75rem;min-width:0}
.big{font-size:1.8rem;font-weight:600;font-variant-numeric:tabular-nums}
.figures{display:flex;flex-wrap:wrap;gap:.75rem}
.figures .card{flex:1 1 150px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .5rem .25rem 0;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.9em}
td code{white-space:nowrap}
svg{display:block}
form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0 1rem}
label{display:flex;flex-direction:column;font-size:.85rem;color:#444;max-width:100%}
select,input{font:inherit;max-width:min(100%,16rem);min-width:0}
input[type=number]{width:7rem}
.pages{display:flex;flex-wrap:wrap;gap:1rem;margin:.5rem 0}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem;margin:0}
dt{color:#555}dd{margin:0}
@media (max-width:760px){
 .list thead{display:none}
 .list,.list tbody,.list tr,.list td{display:block}
 .list tr{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,10rem),1fr));gap:0 1rem;background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 .5rem;padding:.3rem .6rem}
 .list td{display:flex;justify-content:space-between;gap:.5rem;border:0;padding:.1rem 0;text-align:right;min-width:0}
 .list td::before{content:attr(data-label);color:#555;text-align:left;white-space:nowrap}
 .list td.n{white-space:nowrap}
}
`);

/** The whole document around a page's body, as text. */
export function document(title: string, body: Html): string {
  return String(markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`);
}

/** How long `ms` is, as "ago": seconds, minutes, hours or days. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / SECOND_MS));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** A time as ISO 8601; "unknown" for what a Date cannot hold. */
export const iso = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) < 8.64e15
    ? new Date(ms).toISOString()
    : "unknown";

/** A time as a <time> element: when, and how long ago. */
export const when = (ms: number, now: number): Html =>
  markup`<time datetime="${iso(ms)}" title="${formatTime(ms)}">${
    ago(now - ms)
  }</time>`;

/** A whole number in groups of three (`12,345`); Intl's formatting costs far more. */
export const grouped = (n: number): string =>
  String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** A whole number in groups of three, another to two decimals, a boolean as yes or no. */
export function formatValue(value: number | boolean | string): string {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value;
  if (!Number.isInteger(value)) return String(Math.round(value * 100) / 100);
  return grouped(value);
}

/** Where a cluster's own page is. */
export const clusterHref = (distinctId: string): string =>
  `/clusters/${encodeURIComponent(distinctId)}`;

/** What this receiver records and keeps, in words that do not contradict each other. */
export function keptSentence(c: PageContext): Html {
  const n = (count: number, one: string) =>
    `${grouped(count)} ${one}${count === 1 ? "" : "s"}`;
  const book = `the latest event of each cluster (${
    n(c.clusters.size, "cluster")
  }) is held in memory for this page and /metrics`;
  const evicted = c.clusters.evicted > 0
    ? `; ${n(c.clusters.evicted, "cluster")} forgotten to stay within ${
      grouped(c.clusters.maxClusters)
    }`
    : "";
  switch (c.recordLevel) {
    case "none":
      return markup`Record level <b>none</b>: events are answered and not kept (${
        n(c.totalEvents, "event")
      } received since start); ${book}, since start${evicted}.`;
    case "summary":
      return markup`Record level <b>summary</b>: events are counted, not kept (${
        n(c.totalEvents, "event")
      } received since start); ${book}, since start${evicted}.`;
    case "all":
      return c.keptIn === "sqlite"
        ? markup`Record level <b>all</b>: ${
          n(c.heldEvents, "event")
        } kept in the SQLite store; ${book}${evicted}.`
        : markup`Record level <b>all</b>: ${
          n(c.totalEvents, "event")
        } received since start, the newest ${
          n(c.heldEvents, "event")
        } of them kept in memory; ${book}${evicted}.`;
  }
}

/** A page that says what was wrong with the request, with a way back. */
export function problemPage(
  status: number,
  title: string,
  problems: readonly string[],
): PageAnswer {
  return {
    status,
    html: document(
      title,
      markup`<h1>${title}</h1>
<div class="problem" id="problems"><ul>${
        problems.map((p) => markup`<li>${p}</li>`)
      }</ul></div>
<p><a href="/">Back to the fleet overview</a></p>`,
    ),
  };
}
