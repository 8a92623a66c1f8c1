// The overview page at GET /: rendered by a real receiver holding known
// events, loaded in headless Chromium (skipped, saying so, when Chromium is
// not installed), with hostile event content that must stay text.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { createMemoryStore } from "../src/receive/memory_store.ts";
import { escapeHtml, PAGE_CSP } from "../src/receive/page.ts";
import { logger } from "../src/log/setup.ts";
import { sampleEvent } from "./receive_sample.ts";
import { call } from "./fixtures/receiver_call.ts";

const CHROMIUM = "/usr/bin/chromium";
const chromiumInstalled = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!chromiumInstalled) {
  console.log(
    `SKIPPED: the overview page in headless Chromium — ${CHROMIUM} is not installed (apt-get install chromium)`,
  );
}

const A = "7d0e8f2a-1111-4222-8333-444455556666";
const B = "0c9b1a2d-aaaa-4bbb-8ccc-dddddddddddd";
const HOSTILE_VERSION = "<script>document.title='pwned'</script>2.9.0";
const HOSTILE_NAME = '<img src=x onerror="document.title=1">';

/** Three collections of A (model_count 4, 7, 9) and one of B, hostile B. */
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
      seldon_core_version: "2.9.1",
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
    [HOSTILE_NAME]: 3,
  });
  return [...a, b];
}

async function chromium(args: string[], timeoutMs = 60_000) {
  const profile = await Deno.makeTempDir({ prefix: "hodometer-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "the overview page in headless Chromium shows each cluster's values, escaped",
  ignore: !chromiumInstalled,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "hodometer-page-" });
    const receiver = await startReceiverProcess({
      args: ["--record-level", "all", "--store", `${dir}/events.db`],
    });
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
      // Self-contained: nothing to fetch from anywhere.
      for (
        const ref of [/\bsrc=/i, /\bhref=/i, /url\(/i, /@import/i, /<link/i]
      ) {
        assert(
          !ref.test(html.replaceAll(escapeHtml(HOSTILE_NAME), "")),
          `${ref}`,
        );
      }

      const dom = await chromium(["--dump-dom", `${receiver.url}/`]);
      assertEquals(dom.code, 0, dom.stderr);
      const page = dom.stdout;
      assertMatch(page, /<title>hodometer receiver<\/title>/);
      assert(!/<script/i.test(page), "no script element made it into the DOM");
      assert(!/<img/i.test(page), "no img element made it into the DOM");
      assert(!/<h1>injected/.test(page), "no markup from event content");
      assertMatch(page, /<span id="cluster-count">2<\/span>/);
      assertMatch(page, /<span id="total-events">4<\/span>/);

      const section = (id: string) => {
        const m = new RegExp(
          `<section class="cluster" data-cluster="${id}">([\\s\\S]*?)</section>`,
        ).exec(page);
        assert(m, `a section for ${id}`);
        return m[1];
      };
      const a = section(A);
      const cell = (html: string, metric: string) =>
        new RegExp(
          `<tr data-metric="${metric}"><td>[^<]*</td><td class="value">([^<]*)</td>`,
        ).exec(html)?.[1];
      assertEquals(cell(a, "model_count"), "9");
      assertEquals(cell(a, "server_count"), "2");
      assertEquals(cell(a, "server_memory_gb_sum"), "12.5");
      assertEquals(cell(a, "is_kubernetes"), "true");
      assertMatch(a, /<dd data-field="seldon_core_version">2\.9\.1<\/dd>/);
      assertMatch(a, /<dd data-field="kubernetes_version">v1\.31\.0<\/dd>/);
      assertMatch(
        a,
        /<dd data-field="last_seen"><time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">/,
      );
      // The history of model_count: three points, 4 to 9.
      assertMatch(
        a,
        /aria-label="model_count: 3 point\(s\), from 4 to 9" data-points="3"/,
      );

      const b = section(B);
      assertEquals(cell(b, "model_count"), "1");
      assertMatch(
        b,
        /<dd data-field="seldon_core_version">&lt;script&gt;document\.title='pwned'&lt;\/script&gt;2\.9\.0<\/dd>/,
      );
      // A property outside the catalogue is not shown at all.
      assert(!page.includes("onerror"), "no hostile property name");
      // Sections come most recently seen first.
      assert(page.indexOf(B) < page.indexOf(A));

      const shot = `${dir}/page.png`;
      const png = await chromium([
        `--screenshot=${shot}`,
        "--window-size=1280,1400",
        "--hide-scrollbars",
        `${receiver.url}/`,
      ]);
      assertEquals(png.code, 0, png.stderr);
      const bytes = await Deno.readFile(shot);
      assertEquals([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      assert(bytes.length > 10_000, "a page was drawn");
      console.log(`screenshot of the overview page: ${shot}`);
    } finally {
      assertEquals((await receiver.stop()).code, 0);
      // The screenshot stays for a person to look at; the store goes.
      for (const f of ["events.db", "events.db-wal", "events.db-shm"]) {
        await Deno.remove(`${dir}/${f}`).catch(() => {});
      }
    }
  },
});

Deno.test("the page without a browser: empty receiver, summary level, escaping", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const r = createReceiver({
    store,
    recordLevel: "summary",
    logger: logger("receive", "test"),
  });
  const get = async () => await (await call(r.app, "/")).text();
  assertMatch(await get(), /id="no-clusters">No events received yet/);
  assertMatch(await get(), /<span id="cluster-count">0<\/span>/);

  for (const event of knownEvents()) {
    const res = await call(r.app, "/track", {
      method: "POST",
      body: JSON.stringify(event),
      headers: { "content-type": "application/json" },
    });
    assertEquals(res.status, 200);
  }
  const html = await get();
  // summary keeps no events: each chart is the latest value alone.
  assertMatch(html, /aria-label="model_count: 1 point\(s\), from 9 to 9"/);
  assertMatch(
    html,
    /history from nothing \(RECORD_LEVEL=summary keeps no events/,
  );
  assert(!html.includes("<script>"), "no raw script tag");
  assert(!html.includes(HOSTILE_NAME), "no raw hostile name");
  assertEquals(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    "&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;",
  );
});
