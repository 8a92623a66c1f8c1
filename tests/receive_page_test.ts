// The receiver's pages (GET / and GET /clusters/<id>) through the receiver's
// routes without a browser: what each record level says it keeps, the fleet
// facts of known events, the list's links, a cluster's history, refusals that
// say why; then a real receiver loaded in headless Chromium (skipped, saying
// so, when Chromium is not installed) with hostile event content that must
// stay text.

import { assert, assertEquals, assertMatch, captured, nth } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { chromiumMissing, launchChromium } from "./fixtures/chromium.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { escapeHtml, PAGE_CSP } from "../src/receive/views/page.ts";
import type { RecordLevel } from "../src/config/levels.ts";
import { logger } from "../src/log/setup.ts";
import { sampleEvent } from "./receive_sample.ts";
import { call } from "./fixtures/receiver_call.ts";

const missing = chromiumMissing();
if (missing) {
  console.log(`SKIPPED: the pages in headless Chromium — ${missing}`);
}

const A = "7d0e8f2a-1111-4222-8333-444455556666";
const B = "0c9b1a2d-aaaa-4bbb-8ccc-dddddddddddd";
const HOSTILE_VERSION = "<script>document.title='pwned'</script>2.9.0";
const HOSTILE_NAME = '<img src=x onerror="document.title=1">';
const HOSTILE_ID = `</code><img src=x onerror="document.title=2">/..%2F`;

/** Three collections of A (model_count 4, 7, 9; an upgrade), one of B, hostile B, one of a hostile id. */
function knownEvents() {
  const a = [4, 7, 9].map((models, i) =>
    sampleEvent(i, {
      distinct_id: A,
      cluster_id: A,
      time: 1_800_000_000 + i * 3600,
      model_count: models,
      server_count: 2,
      server_memory_gb_sum: 12.5,
      is_kubernetes: true,
      gpu_enabled_count: i === 1 ? 1 : 0,
      seldon_core_version: i === 0 ? "2.9.0" : "2.9.1",
      kubernetes_version: "v1.31.0",
      inference_server_name: "MLServer,Triton",
      collector_version: "1.0.0",
    })
  );
  const b = sampleEvent(10, {
    distinct_id: B,
    cluster_id: B,
    model_count: 1,
    seldon_core_version: HOSTILE_VERSION,
    kubernetes_version: "</dd></dl><h1>injected</h1>",
    inference_server_name: "<b>x</b>",
    [HOSTILE_NAME]: 3,
  });
  const c = sampleEvent(11, { distinct_id: HOSTILE_ID, model_count: 2 });
  return [...a, b, c];
}

async function receiverWith(level: RecordLevel, readToken?: string) {
  let clock = Date.UTC(2026, 10, 1, 8);
  const store = createMemoryStore({
    recordLevel: level,
    maxEvents: 100,
    now: () => clock,
  });
  const r = createReceiver({
    store,
    recordLevel: level,
    logger: logger("receive", "test"),
    now: () => clock,
    readToken,
  });
  for (const event of knownEvents()) {
    clock += 3_600_000;
    const res = await call(r.app, "/track", {
      method: "POST",
      body: JSON.stringify(event),
      headers: { "content-type": "application/json" },
    });
    assertEquals(res.status, 200);
  }
  clock += 60_000;
  const get = async (path: string) => {
    const res = await call(r.app, path);
    return { status: res.status, headers: res.headers, html: await res.text() };
  };
  return { r, get };
}

/** [label, count] of the bars of a version card. */
function versionBars(html: string, metric: string): Array<[string, number]> {
  const card = new RegExp(`data-versions="${metric}">([\\s\\S]*?)</div>`)
    .exec(html)?.[1] ?? "";
  return [...card.matchAll(/<g data-label="([^"]*)" data-count="(\d+)">/g)]
    .map((m) => [nth(m, 1), Number(m[2])]);
}

const assertInert = (html: string) => {
  assert(!html.includes("<script"), "no script tag");
  assert(!html.includes("<img"), "no img tag");
  assert(!html.includes("<h1>injected"), "no markup from event content");
  assert(!html.includes("<b>x</b>"), "no markup from a server name");
};

Deno.test("the overview before any event: says what it keeps, and that it has nothing yet", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const r = createReceiver({
    store,
    recordLevel: "summary",
    logger: logger("receive", "test"),
  });
  const res = await call(r.app, "/");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-security-policy"), PAGE_CSP);
  const html = await res.text();
  assertMatch(html, /id="no-clusters">No events received yet/);
  assertMatch(
    html,
    /Record level <b>summary<\/b>: events are counted, not kept \(0 events received since start\)/,
  );
});

Deno.test("each record level says truthfully what it keeps; no daily history without events", async () => {
  const kept = (html: string) =>
    captured(/<p class="lead" id="kept">(.*?) Rendered/, html);
  const summary = await (await receiverWith("summary")).get("/");
  assertEquals(
    kept(summary.html),
    "Record level <b>summary</b>: events are counted, not kept (5 events received since start); the latest event of each cluster (3 clusters) is held in memory for this page and /metrics, since start.",
  );
  assertMatch(
    summary.html,
    /id="daily-absent">Clusters per day need the events themselves \(RECORD_LEVEL=all\)/,
  );
  const none = await (await receiverWith("none")).get("/");
  assertMatch(
    kept(none.html),
    /^Record level <b>none<\/b>: events are answered and not kept \(5 events received since start\)/,
  );
  const all = await (await receiverWith("all")).get("/");
  assertEquals(
    kept(all.html),
    "Record level <b>all</b>: 5 events received since start, the newest 5 events of them kept in memory; the latest event of each cluster (3 clusters) is held in memory for this page and /metrics.",
  );
  assert(!all.html.includes("daily-absent"));
  // One column a day: all five events came on 2026-11-01.
  assertMatch(all.html, /data-day="2026-11-01" data-count="3"/);
});

Deno.test("the overview: fleet facts of the known events, escaped", async () => {
  const { get } = await receiverWith("summary");
  const { html } = await get("/");
  assertInert(html);
  assertEquals(versionBars(html, "seldon_core_version"), [
    ["2.9.1", 1],
    [escapeHtml(HOSTILE_VERSION), 1],
    ["not reported", 1],
  ]);
  assertEquals(versionBars(html, "kubernetes_version"), [
    [escapeHtml("</dd></dl><h1>injected</h1>"), 1],
    ["v1.31.0", 1],
    ["not reported", 1],
  ]);
  assertMatch(
    html,
    /<b id="considered">3<\/b> cluster\(s\) heard from in the last 30 days/,
  );
  // GPUs: A's latest event says 0 (the 1 was an earlier one); B and C did not say.
  assertMatch(html, /data-label="GPUs" data-count="0" data-of="1"/);
  assertMatch(html, /data-label="MLServer" data-count="1"/);
  assertMatch(html, /data-label="&lt;b&gt;x&lt;\/b&gt;" data-count="1"/);
  assertMatch(
    html,
    /<tr data-metric="model_count"><td data-label="metric">Models \(models\)<\/td><td class="n" data-label="clusters">3<\/td><td class="n" data-label="total">12<\/td>/,
  );
  // A property outside the catalogue is not shown at all.
  assert(
    !html.includes("onerror=&quot;document.title=1"),
    "no hostile property name",
  );
  // The hostile id is a link to its page, escaped and percent-encoded.
  assertMatch(
    html,
    new RegExp(
      `<a href="${
        escapeHtml(`/clusters/${encodeURIComponent(HOSTILE_ID)}`)
          .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      }"`,
    ),
  );
});

Deno.test("the list: links keep the filters, sort headers turn the order, pages", async () => {
  const { get } = await receiverWith("summary");
  const { html } = await get("/?per=1&seldon_core_version=2.9.1");
  assertMatch(html, /<b>1<\/b> of 3 known cluster\(s\) match; 1–1 shown/);
  assertMatch(html, new RegExp(`<tr data-cluster="${A}">`));
  const two = await get("/?per=2");
  assertMatch(two.html, /page 1 of 2/);
  assertMatch(two.html, /<a href="\/\?per=2&amp;page=2" rel="next">/);
  // Sorted by models, descending: A (9), C (2), B (1); the header offers ascending.
  const sorted = await get("/?sort=model_count");
  const rows = [...sorted.html.matchAll(/<tr data-cluster="([^"]*)">/g)]
    .map((m) => m[1]);
  assertEquals(rows, [A, escapeHtml(HOSTILE_ID), B]);
  assertMatch(
    sorted.html,
    /<th class="n" aria-sort="descending"><a href="\/\?sort=model_count&amp;order=asc">Models<\/a> ▼<\/th>/,
  );
  // The form sends empty fields for "any": the same view.
  const form = await get(
    "/?seldon_core_version=&kubernetes_version=&collector_version=&behind=&seen=&feature=&server=&metric=&min=&max=&sort=last_seen&order=desc&per=50",
  );
  assertEquals(form.status, 200);
  assertMatch(form.html, /<b>3<\/b> of 3 known cluster\(s\) match/);
});

Deno.test("a bad view is refused with what was wrong, escaped", async () => {
  const { get } = await receiverWith("summary");
  const bad = await get("/?sort=%3Cscript%3E&page=-1");
  assertEquals(bad.status, 400);
  assertEquals(bad.headers.get("content-security-policy"), PAGE_CSP);
  assertMatch(
    bad.html,
    /sort=&quot;&lt;script&gt;&quot;: expected one of last_seen/,
  );
  assertMatch(bad.html, /page=&quot;-1&quot;: expected a whole number from 1/);
  assertInert(bad.html);
});

Deno.test("a cluster's page: its history by receive time when events are kept, its latest values otherwise", async () => {
  const all = await receiverWith("all");
  const page = await all.get(`/clusters/${A}`);
  assertEquals(page.status, 200);
  assertEquals(page.headers.get("content-security-policy"), PAGE_CSP);
  const html = page.html;
  assertMatch(html, new RegExp(`<code id="cluster-id">${A}</code>`));
  assertMatch(
    html,
    /id="history-source">3 event\(s\) received from 2026-11-01 09:00 UTC to 2026-11-01 11:00 UTC/,
  );
  // Numbers as time series, first and last in time order.
  assertMatch(
    html,
    /<title>model_count \(models\): 4 on 2026-11-01 09:00 UTC → 9 on 2026-11-01 11:00 UTC, 3 points<\/title>/,
  );
  // A number that went up and back down is still a line, a boolean is states.
  assertMatch(html, /<title>is_kubernetes: true, 2026-11-01 09:00 UTC to /);
  assert(
    /data-metric="is_kubernetes">[\s\S]*?<rect[^>]*data-state="true"/.test(
      html,
    ),
    "is_kubernetes drawn as a state",
  );
  // Strings as a change log, newest first.
  assertMatch(
    html,
    /<td data-label="value">2\.9\.0 → 2\.9\.1<\/td>[\s\S]*<td data-label="value">2\.9\.0 <span class="note">\(first seen\)<\/span>/,
  );
  assertMatch(html, /<dd data-field="kubernetes_version">v1\.31\.0<\/dd>/);

  const summary = await receiverWith("summary");
  const latest = await summary.get(`/clusters/${A}`);
  assertEquals(latest.status, 200);
  assertMatch(
    latest.html,
    /At record level summary this receiver keeps no events: what follows is the latest event alone/,
  );
  assertMatch(
    latest.html,
    /<title>model_count \(models\): 9 on 2026-11-01 11:00 UTC, 1 point<\/title>/,
  );

  const b = await summary.get(`/clusters/${B}`);
  assertInert(b.html);
  assertMatch(b.html, /<dd data-field="seldon_core_version">&lt;script&gt;/);
});

Deno.test("a cluster's page: a hostile id stays text; unknown is 404, bad encoding 400", async () => {
  const { get } = await receiverWith("all");
  const hostile = await get(`/clusters/${encodeURIComponent(HOSTILE_ID)}`);
  assertEquals(hostile.status, 200);
  assertInert(hostile.html);
  assertMatch(
    hostile.html,
    /<code id="cluster-id">&lt;\/code&gt;&lt;img src=x onerror=&quot;document.title=2&quot;&gt;\/..%2F<\/code>/,
  );
  const unknown = await get(`/clusters/${"f".repeat(300)}`);
  assertEquals(unknown.status, 404);
  assertMatch(
    unknown.html,
    /no cluster with distinct_id &quot;f{80}…&quot; is known to this receiver/,
  );
  const bad = await get("/clusters/%E0%A4%A");
  assertEquals(bad.status, 400);
  assertMatch(bad.html, /not valid percent-encoding/);
  assertEquals((await get("/clusters/")).status, 404);
});

Deno.test("the read token guards the cluster pages as it guards the overview", async () => {
  const { r } = await receiverWith("summary", "s3cret");
  for (const path of ["/", `/clusters/${A}`]) {
    const open = await call(r.app, path);
    assertEquals(open.status, 401, path);
    assert(!(await open.text()).includes(A), "nothing of the fleet shown");
    const res = await call(r.app, path, {
      headers: { authorization: "Bearer s3cret" },
    });
    assertEquals(res.status, 200, path);
    await res.body?.cancel();
  }
});

Deno.test({
  name:
    "the pages of a real receiver in headless Chromium: the policy holds, event content stays text",
  ignore: missing !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "hodometer-page-" });
    const receiver = await startReceiverProcess({
      args: ["--record-level", "all", "--store", `${dir}/events.db`],
    });
    const browser = await launchChromium();
    try {
      for (const event of knownEvents()) {
        const res = await fetch(`${receiver.url}/track`, {
          method: "POST",
          body: JSON.stringify(event),
          headers: { "content-type": "application/json" },
        });
        assertEquals(res.status, 200);
        await res.body?.cancel();
      }
      const direct = await fetch(`${receiver.url}/`);
      assertEquals(direct.headers.get("content-security-policy"), PAGE_CSP);
      const html = await direct.text();
      // Self-contained: nothing to fetch from anywhere, only links back here.
      // (Attribute values, event content among them, are set aside first.)
      assert(
        !/<[^>]*\bsrc=/i.test(html.replace(/="[^"]*"/g, '=""')),
        "no element loads anything",
      );
      assert(!/<link/i.test(html), "no link element");
      const style = captured(/<style>([\s\S]*?)<\/style>/, html);
      assert(!/url\(|@import/i.test(style), "the style loads nothing");
      for (const m of html.matchAll(/href="([^"]*)"/g)) {
        assertMatch(nth(m, 1), /^\/(\?|clusters\/|$)/);
      }

      const tab = await browser.open(1280, 900);
      for (
        const path of [
          "/",
          `/clusters/${A}`,
          `/clusters/${encodeURIComponent(B)}`,
          `/clusters/${encodeURIComponent(HOSTILE_ID)}`,
        ]
      ) {
        await tab.load(`${receiver.url}${path}`);
        const dom = await tab.evaluate<{
          title: string;
          scripts: number;
          images: number;
          injected: number;
        }>(`({
          title: document.title,
          scripts: document.querySelectorAll("script").length,
          images: document.querySelectorAll("img").length,
          injected: [...document.querySelectorAll("h1")].filter((h) => h.textContent === "injected").length,
        })`);
        assertEquals(
          [dom.scripts, dom.images, dom.injected],
          [0, 0, 0],
          `${path}: no element from event content`,
        );
        assertMatch(dom.title, /^hodometer receiver: /, path);
      }
      // The hostile version is on B's page as the text it was.
      await tab.load(`${receiver.url}/clusters/${B}`);
      assertEquals(
        await tab.evaluate<string>(
          `document.querySelector('[data-field="seldon_core_version"]').textContent`,
        ),
        HOSTILE_VERSION,
      );
      // The filter form is sent back here (form-action 'self') and applied.
      await tab.load(`${receiver.url}/`);
      await tab.follow(`(() => {
        const form = document.getElementById("filters");
        form.elements.seldon_core_version.value = "2.9.1";
        form.submit();
      })()`);
      assertMatch(
        await tab.evaluate<string>("location.search"),
        /^\?seldon_core_version=2\.9\.1&/,
      );
      assertEquals(
        await tab.evaluate<string[]>(
          `[...document.querySelectorAll("#cluster-list tbody tr")].map((tr) => tr.dataset.cluster)`,
        ),
        [A],
      );
      await tab.close();
    } finally {
      await browser.close();
      assertEquals((await receiver.stop()).code, 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
