// The pages' parts alone: markup escaped by construction (Hono's html tag,
// strings made visible first), a cluster's metrics sorted by how they are
// shown, its change log, the form's drop-downs and hidden fields; and the
// command's note of dropped events.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { escapeHtml, markup, trusted } from "../src/receive/views/html.ts";
import { changeLog, metricSeries } from "../src/receive/views/page_cluster.ts";
import { hiddenParams, select } from "../src/receive/views/page_overview.ts";
import { DEFAULT_VIEW, parseView } from "../src/receive/views/cluster_list.ts";
import { droppedEventsLog } from "../src/receive/command.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import type { AcceptedEvent, SnapshotValue } from "../src/receive/event/mod.ts";
import type { Logger } from "../src/log/setup.ts";
import { sampleEvent } from "./receive_sample.ts";

Deno.test("markup: interpolated text is escaped and made visible; markup made by the tag is kept, arrays joined", () => {
  const hostile = `<img src=x onerror="a('b')">&\u0000\u202E`;
  const out = String(markup`<p title="${hostile}">${hostile}</p>`);
  assertEquals(
    out,
    `<p title="&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;\\u0000\\u202E">&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;\\u0000\\u202E</p>`,
  );
  const items = ["a", "<b>"].map((x) => markup`<li>${x}</li>`);
  assertEquals(
    String(markup`<ul>${items}</ul>`),
    "<ul><li>a</li><li>&lt;b&gt;</li></ul>",
  );
  // Numbers as they are; false, null and undefined left out.
  assertEquals(
    String(markup`${1.5}|${false}|${null}|${undefined}|${String(false)}`),
    "1.5||||false",
  );
  assertEquals(String(markup`${trusted("<b>kept</b>")}`), "<b>kept</b>");
  // A string that looks like markup is still a string.
  assertEquals(String(markup`${"<b>x</b>"}`), "&lt;b&gt;x&lt;/b&gt;");
  assertEquals(escapeHtml(`"<\u2066>"`), "&quot;&lt;\\u2066&gt;&quot;");
});

const at = (h: number) => Date.UTC(2026, 10, 1, h);
const point = (h: number, values: Record<string, SnapshotValue>) => ({
  receivedAtMs: at(h),
  values: new Map(Object.entries(values)),
});

Deno.test("cluster page: each metric sorted by how it is shown, a string's changes only where it changed", () => {
  const series = metricSeries([
    point(1, {
      model_count: 3,
      is_kubernetes: true,
      seldon_core_version: "2.8.0",
    }),
    point(2, {
      model_count: 4,
      is_kubernetes: false,
      seldon_core_version: "2.8.0",
    }),
    point(3, { model_count: 5, seldon_core_version: "2.9.0" }),
  ]);
  const models = series.numbers.find((n) => n.metric === "model_count");
  assertEquals(models, {
    metric: "model_count",
    whole: true,
    points: [[at(1), 3], [at(2), 4], [at(3), 5]],
  });
  assertEquals(series.states, [{
    metric: "is_kubernetes",
    points: [[at(1), true], [at(2), false]],
  }]);
  assertEquals(series.changes, [
    { at: at(1), metric: "seldon_core_version", from: undefined, to: "2.8.0" },
    { at: at(3), metric: "seldon_core_version", from: "2.8.0", to: "2.9.0" },
  ]);
  assert(series.missing.includes("pipeline_count"));
  assert(!series.missing.includes("model_count"));
  // The ids are never charted, nor missing.
  assert(!series.missing.includes("cluster_id"));
});

Deno.test("cluster page: the change log newest first, hostile values as text", () => {
  const log = String(changeLog([
    {
      at: at(1),
      metric: "seldon_core_version",
      from: undefined,
      to: "<b>1</b>",
    },
    { at: at(2), metric: "seldon_core_version", from: "<b>1</b>", to: "2" },
  ]));
  assertMatch(
    log,
    /2026-11-01 02:00 UTC.*&lt;b&gt;1&lt;\/b&gt; → 2.*2026-11-01 01:00 UTC.*\(first seen\)/,
  );
  assert(!log.includes("<b>1"));
  assertMatch(String(changeLog([])), /No string metric reported/);
});

Deno.test("overview form: a drop-down keeps the current value even when it is not offered; the hidden fields keep what the form does not show", () => {
  const s = String(
    select("server", "Server", [["", "any"], ["a", "A"]], "zz<"),
  );
  assertMatch(s, /<option value="zz&lt;" selected>zz&lt;<\/option><\/select>/);
  assertEquals((s.match(/ selected/g) ?? []).length, 1);
  const offered = String(
    select("order", "Order", [["asc", "up"], ["desc", "down"]], "desc"),
  );
  assertMatch(
    offered,
    /<option value="asc">up<\/option><option value="desc" selected>down/,
  );
  assertEquals(hiddenParams(DEFAULT_VIEW), []);
  const parsed = parseView("window=all&silent_after=2d");
  assert(parsed.ok);
  assertEquals(hiddenParams(parsed.view), [["window", "all"], [
    "silent_after",
    "2d",
  ]]);
});

Deno.test("receive: dropped events are said once when the ring first overflows, then once per ring-full", async () => {
  const lines: string[] = [];
  const log = {
    info: (_: string, p: { droppedEvents: number }) =>
      lines.push(`dropped ${p.droppedEvents}`),
  } as unknown as Logger;
  const memory = createMemoryStore({ recordLevel: "all", maxEvents: 2 });
  const note = droppedEventsLog(memory, {
    maxEvents: 2,
    maxEventsBytes: 1 << 20,
  }, log);
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    const event: AcceptedEvent = {
      token: "t",
      distinctId: "d",
      insertId: `i${i}`,
      event: "collect metrics",
      properties: sampleEvent(i).properties,
      time: null,
    };
    await memory.add([event]);
    note();
    seen.push(memory.stats().droppedEvents);
  }
  assertEquals(seen, [0, 0, 1, 2, 3, 4, 5, 6]);
  assertEquals(lines, ["dropped 1", "dropped 3", "dropped 5"]);
});
