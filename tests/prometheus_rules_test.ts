// deploy/prometheus/: the rules and the scrape config pass promtool (its
// checks and the rules' own unit tests) when promtool is installed, and every
// series and label the rules read is one the receiver's /metrics exports.

import { assert, assertEquals, nth } from "./assert.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { startReceiverServer } from "../src/receive/serve/mod.ts";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import { logger } from "../src/log/setup.ts";
import { sampleEvent } from "./receive_sample.ts";

const DIR = new URL("../deploy/prometheus/", import.meta.url).pathname;
const RULES = `${DIR}hodometer-rules.yaml`;
const RULES_TESTS = [
  `${DIR}hodometer-rules.fleet.test.yaml`,
  `${DIR}hodometer-rules.receiver.test.yaml`,
];
const CONFIG = `${DIR}prometheus.yml`;
const rulesText = await Deno.readTextFile(RULES);

const PROMTOOL = "/usr/bin/promtool";
const promtoolInstalled = (() => {
  try {
    return Deno.statSync(PROMTOOL).isFile;
  } catch {
    return false;
  }
})();
if (!promtoolInstalled) {
  console.log(
    `SKIPPED: promtool check rules / check config / test rules on deploy/prometheus — ${PROMTOOL} is not installed (apt-get install prometheus)`,
  );
}

async function promtool(...args: string[]) {
  const out = await new Deno.Command(PROMTOOL, { args, stdin: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

for (
  const [name, args, expected] of [
    ["promtool check rules", ["check", "rules", RULES], /SUCCESS: 14 rules/],
    ["promtool check config", ["check", "config", CONFIG], /SUCCESS/],
    ["promtool test rules (the rules' unit tests)", [
      "test",
      "rules",
      ...RULES_TESTS,
    ], /SUCCESS[\s\S]*SUCCESS/],
  ] as const
) {
  Deno.test({
    name: `deploy/prometheus: ${name}`,
    ignore: !promtoolInstalled,
    fn: async () => {
      const { code, text } = await promtool(...args);
      assertEquals(code, 0, text);
      assert(expected.test(text), text);
    },
  });
}

Deno.test({
  name: "promtool test rules can fail: a rule that alerts too late is caught",
  ignore: !promtoolInstalled,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "hodometer-rules-" });
    try {
      const late = rulesText.replace("> 16 * 3600", "> 18 * 3600");
      assert(late !== rulesText);
      await Deno.writeTextFile(`${dir}/hodometer-rules.yaml`, late);
      const fleetTests = `${dir}/hodometer-rules.fleet.test.yaml`;
      await Deno.copyFile(nth(RULES_TESTS, 0), fleetTests);
      const { code, text } = await promtool("test", "rules", fleetTests);
      assertEquals(code, 1, text);
      assert(text.includes("HodometerClusterSilent"), text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Metric names in the rules' expressions (not the recorded ones). */
function seriesRead(text: string): Set<string> {
  const exprs = text.split(/\n\s*expr: \|\n/).slice(1).map((block) =>
    nth(block.split(/\n\s+(?:labels|annotations|for|- record|- alert):/), 0)
  );
  assert(exprs.length === 14, `found ${exprs.length} expressions`);
  return new Set(
    exprs.flatMap((e) =>
      [
        ...e.matchAll(/\b(seldon_usage_[a-z0-9_]+|hodometer_[a-z0-9_]+)\b/g),
      ].map((m) => nth(m, 1))
    ),
  );
}

Deno.test("every series the rules read is exported by the receiver, with the labels they group by", async () => {
  const store = createMemoryStore({ recordLevel: "summary", maxEvents: 10 });
  const { app, bodies, counters } = createReceiver({
    store,
    recordLevel: "summary",
    logger: logger("receive", "test"),
  });
  // Served as the command serves it: the connections' metrics come from the server.
  const server = startReceiverServer({
    hostname: "127.0.0.1",
    port: 0,
    app,
    bodies,
  });
  counters.connections = server.connections;
  const event = sampleEvent(1, {
    pipeline_count: 2,
    server_count: 1,
    seldon_core_version: "2.9.0",
    kubernetes_version: "v1.30.1",
    collector_version: "1.0.0",
  });
  const accepted = await app.fetch(
    new Request("http://receiver.test/track", {
      method: "POST",
      body: JSON.stringify(event),
    }),
  );
  assertEquals(accepted.status, 200);
  await accepted.body?.cancel();
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assertEquals(await server.shutdown(2000), true);

  const exported = new Set(
    [...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]),
  );
  const read = seriesRead(rulesText);
  assert(read.size >= 6, [...read].join(", "));
  for (const name of read) {
    assert(
      exported.has(name),
      `the rules read ${name}; /metrics has no such family`,
    );
  }
  const info = metrics.split("\n").find((l) =>
    l.startsWith("seldon_usage_info{")
  )!;
  for (const [, label] of rulesText.matchAll(/count by \((\w+)\)/g)) {
    assert(info.includes(`${label}="`), `seldon_usage_info has no ${label}`);
  }
  assert(
    metrics.includes(
      'hodometer_receiver_events_rejected_total{reason="store_failed"}',
    ),
  );
});
