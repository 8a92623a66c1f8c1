// /metrics: the Prometheus text format checked by a real parser
// (parse-prometheus-text-format), a strict line grammar, and promtool when it
// is installed; the latest snapshot per cluster at every record level.

import parsePrometheus from "parse-prometheus-text-format";
import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import {
  ClusterBook,
  MAX_STRING_LENGTH,
  snapshotValues,
} from "../src/receive/store/clusters.ts";
import { call } from "./fixtures/receiver_call.ts";
import {
  escapeLabel,
  metricName,
  PROMETHEUS_CONTENT_TYPE,
} from "../src/receive/views/prometheus.ts";
import {
  createMemoryStore,
  type EventStore,
} from "../src/receive/store/mod.ts";
import type { RecordLevel } from "../src/config/levels.ts";
import { logger } from "../src/log/setup.ts";
import { CATALOGUE } from "../src/metrics/catalogue.ts";
import { sampleAccepted, sampleEvent } from "./receive_sample.ts";

interface Sample {
  value: string;
  labels?: Record<string, string>;
}
interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}

function receiver(
  level: RecordLevel = "summary",
  options: { clusters?: ClusterBook; store?: EventStore; now?: () => number } =
    {},
) {
  const store = options.store ??
    createMemoryStore({ recordLevel: level, maxEvents: 100 });
  const r = createReceiver({
    store,
    recordLevel: level,
    logger: logger("receive", "test"),
    clusters: options.clusters,
    now: options.now,
  });
  const post = async (body: unknown) => {
    const res = await call(r.app, "/track", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    await res.body?.cancel();
    return res.status;
  };
  const scrape = async () => {
    const res = await call(r.app, "/metrics");
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    const text = await res.text();
    checkGrammar(text);
    return { text, families: parse(text) };
  };
  return { ...r, store, post, scrape };
}

function parse(text: string): Map<string, ParsedFamily> {
  const families = parsePrometheus(text) as ParsedFamily[];
  const byName = new Map<string, ParsedFamily>();
  for (const f of families) {
    assert(!byName.has(f.name), `family ${f.name} appears once`);
    byName.set(f.name, f);
  }
  return byName;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_VALUE = String.raw`"(?:[^"\\\n]|\\[\\"n])*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(\\{[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*\\})? ` +
    `(-?(?:\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)|NaN|[+-]Inf)$`,
);

/**
 * The exposition format 0.0.4 line by line, strictly (the npm parser is
 * lenient): HELP then TYPE before a family's samples, samples of a family
 * together, valid names, escaped label values, numeric values.
 */
function checkGrammar(text: string): void {
  assert(text.endsWith("\n"), "ends with a line feed");
  const seen = new Set<string>();
  let current = "";
  let typed = false;
  for (const line of text.slice(0, -1).split("\n")) {
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (help) {
      assert(!seen.has(nth(help, 1)), `${help[1]} described once`);
      assert(!/\\[^\\n]/.test(nth(help, 2).replaceAll("\\\\", "")), line);
      seen.add(nth(help, 1));
      current = nth(help, 1);
      typed = false;
      continue;
    }
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge)$`).exec(line);
    if (type) {
      assertEquals(type[1], current, `TYPE follows the HELP of ${current}`);
      typed = true;
      continue;
    }
    const sample = SAMPLE.exec(line);
    assert(sample, `a valid sample line: ${JSON.stringify(line)}`);
    assertEquals(sample[1], current, `sample of ${current} in its family`);
    assert(typed, `${current} has a TYPE before its samples`);
  }
}

const value = (
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string>,
): number | undefined => {
  const sample = families.get(name)?.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
  );
  return sample === undefined ? undefined : Number(sample.value);
};

const A = "3b1f6c9e-0000-4000-8000-00000000000a";
const B = "3b1f6c9e-0000-4000-8000-00000000000b";

function clusterEvent(
  id: string,
  n: number,
  extra: Record<string, unknown> = {},
) {
  return sampleEvent(n, {
    distinct_id: id,
    cluster_id: id,
    model_count: n,
    pipeline_count: n * 10,
    server_memory_gb_sum: n / 4,
    is_kubernetes: n % 2 === 0,
    seldon_core_version: `2.${n}.0`,
    kubernetes_version: "v1.30.2",
    inference_server_name: "MLServer,Triton",
    collector_version: "1.0.0",
    ...extra,
  });
}

Deno.test("/metrics parses and holds the counters and the latest snapshot of each cluster", async () => {
  let clock = 1_800_000_000_000;
  const r = receiver("summary", { now: () => clock });
  assertEquals(await r.post(clusterEvent(A, 1)), 200);
  clock += 1000;
  assertEquals(await r.post([clusterEvent(A, 3), clusterEvent(B, 2)]), 200);
  clock += 1000;
  // The event received last is the latest, whatever its own time says.
  assertEquals(await r.post(clusterEvent(A, 2, { time: 1 })), 200);
  clock += 1000;
  // A re-delivery changes nothing: not the values, not the last-seen time.
  assertEquals(await r.post(clusterEvent(A, 3)), 200);
  assertEquals(await r.post({ event: "x" }), 400);
  assertEquals(await r.post([]), 400);

  const { families } = await r.scrape();
  const g = (name: string, id: string) =>
    value(families, name, { cluster_id: id });
  assertEquals(
    value(families, "hodometer_receiver_events_received_total", {}),
    5,
  );
  assertEquals(
    value(families, "hodometer_receiver_events_duplicate_total", {}),
    1,
  );
  assertEquals(
    value(families, "hodometer_receiver_events_rejected_total", {
      reason: "invalid_event",
    }),
    1,
  );
  assertEquals(
    value(families, "hodometer_receiver_events_rejected_total", {
      reason: "no_event",
    }),
    1,
  );
  assertEquals(
    value(families, "hodometer_receiver_events_rejected_total", {
      reason: "store_failed",
    }),
    0,
  );
  assertEquals(
    families.get("hodometer_receiver_events_received_total")?.type,
    "COUNTER",
  );

  assertEquals(g("seldon_usage_model_count", A), 2);
  assertEquals(g("seldon_usage_pipeline_count", A), 20);
  assertEquals(g("seldon_usage_server_memory_gb_sum", A), 0.5);
  assertEquals(g("seldon_usage_is_kubernetes", A), 1);
  assertEquals(g("seldon_usage_model_count", B), 2);
  assertEquals(g("seldon_usage_is_kubernetes", B), 1);
  assertEquals(families.get("seldon_usage_model_count")?.type, "GAUGE");
  assertMatch(
    families.get("seldon_usage_model_count")!.help,
    /models the scheduler reports/,
  );
  // Last seen: A's last new event, before the re-delivery.
  assertEquals(
    g("seldon_usage_last_seen_timestamp_seconds", A),
    (clock - 1000) / 1000,
  );
  assertEquals(
    g("seldon_usage_last_seen_timestamp_seconds", B),
    (clock - 2000) / 1000,
  );
  const info = families.get("seldon_usage_info")!.metrics;
  assertEquals(info.find((m) => m.labels?.cluster_id === A), {
    value: "1",
    labels: {
      cluster_id: A,
      seldon_core_version: "2.2.0",
      kubernetes_version: "v1.30.2",
      inference_server_name: "MLServer,Triton",
      collector_version: "1.0.0",
    },
  });
  // Envelope fields are not metrics.
  for (const name of ["token", "time", "ip", "distinct_id", "insert_id"]) {
    assert(!families.has(`seldon_usage_${name}`), name);
  }
  assertEquals(value(families, "hodometer_receiver_clusters", {}), 2);
});

Deno.test("/metrics keeps snapshots at every record level, also with nothing stored", async () => {
  for (const level of ["none", "summary", "all"] as const) {
    const r = receiver(level);
    assertEquals(await r.post(clusterEvent(A, 4)), 200);
    const { families } = await r.scrape();
    assertEquals(
      value(families, "seldon_usage_model_count", { cluster_id: A }),
      4,
      level,
    );
  }
});

Deno.test("hostile values: label values escaped and kept distinct; only the catalogue becomes metrics", async () => {
  const nasty = 'v2"} evil_metric 1\n# TYPE x counter\\\r\u0000end';
  const r = receiver("summary");
  const odd = `id"\n\\{}`;
  assertEquals(
    await r.post(clusterEvent(odd, 1, {
      seldon_core_version: nasty,
      "weird-name.with spaces": 7,
      "model-count": 99,
      "info": 5,
      "last_seen_timestamp_seconds": 5,
      "flag": true,
      "nested": { "a": 1 },
    })),
    200,
  );
  // distinct_ids that differ only in control characters stay two series.
  assertEquals(await r.post(clusterEvent("c\u0001", 1)), 200);
  assertEquals(await r.post(clusterEvent("c\u0002", 1)), 200);
  assertEquals(await r.post(clusterEvent("c%01", 1)), 200);
  assertEquals(await r.post(clusterEvent("c\ud800", 1)), 200);
  assertEquals(await r.post(clusterEvent("c\ufffd", 1)), 200);
  const { text, families } = await r.scrape();
  assert(!families.has("evil_metric"), "no injected family");
  assert(!text.includes("\nevil_metric"), "no injected line");
  const info = families.get("seldon_usage_info")!.metrics;
  const ids = info.map((m) => m.labels!.cluster_id);
  assertEquals(new Set(ids).size, 6, ids.join(" | "));
  assertEquals(ids, [
    'id"%0A\\{}',
    "c%01",
    "c%02",
    "c%2501",
    "c%uD800",
    "c\ufffd",
  ]);
  assertEquals(
    nth(info, 0).labels!.seldon_core_version,
    'v2"} evil_metric 1%0A# TYPE x counter\\%0D%00end',
  );
  // Only the catalogue's metrics: a client cannot choose metric names.
  for (const name of families.keys()) {
    assert(
      name.startsWith("hodometer_receiver_") || name === "seldon_usage_info" ||
        name === "seldon_usage_last_seen_timestamp_seconds" ||
        CATALOGUE.some((m) => `seldon_usage_${m.name}` === name),
      name,
    );
  }
  const id = { cluster_id: 'id"%0A\\{}' };
  assertEquals(value(families, "seldon_usage_model_count", id), 1);
  assertEquals(families.get("seldon_usage_info")!.metrics.length, 6);
  assertEquals(metricName("model_count"), "seldon_usage_model_count");
  assertEquals(escapeLabel('a\\b"c\nd%'), 'a\\\\b\\"c%0Ad%25');
});

Deno.test("snapshots are bounded: clusters evicted least recently seen first, by count and by bytes", async () => {
  const clusters = new ClusterBook({ maxClusters: 3 });
  const r = receiver("summary", { clusters });
  for (const id of ["c1", "c2", "c3"]) {
    assertEquals(await r.post(clusterEvent(id, 1)), 200);
  }
  assertEquals(await r.post(clusterEvent("c1", 2)), 200); // c1 seen again
  assertEquals(await r.post(clusterEvent("c4", 1)), 200); // evicts c2
  const { families } = await r.scrape();
  const ids = families.get("seldon_usage_info")!.metrics.map((m) =>
    m.labels!.cluster_id
  ).sort();
  assertEquals(ids, ["c1", "c3", "c4"]);
  assertEquals(
    value(families, "hodometer_receiver_clusters_evicted_total", {}),
    1,
  );
  // A distinct_id longer than Mixpanel's 255 characters is refused outright.
  assertEquals(await r.post(clusterEvent("x".repeat(256), 1)), 400);
  assertEquals(clusters.size, 3);
  assertEquals(clusters.get("c4")?.values.get("model_count"), 1);

  const small = new ClusterBook({ maxBytes: 20_000 });
  const long = "v".repeat(2000); // clipped to 128 characters
  for (let i = 0; i < 100; i++) {
    small.observe(
      sampleAccepted(i, {
        distinct_id: `cluster-${i}`,
        seldon_core_version: long,
        kubernetes_version: long,
      }),
      i,
    );
  }
  assert(small.bytes <= 20_000, `${small.bytes} bytes`);
  assert(small.size > 10 && small.size < 100, `${small.size} clusters`);
  assertEquals(nth(small.recent(1), 0).distinctId, "cluster-99");
  assertEquals(
    (small.get("cluster-99")!.values.get("seldon_core_version") as string)
      .length,
    128,
  );
  // Retention forgets clusters not heard from since the cutoff.
  const before = small.size;
  assertEquals(small.forgetSeenBefore(95), before - 5);
  assertEquals(small.size, 5);
});

const promtool = (() => {
  try {
    return Deno.statSync("/usr/bin/promtool").isFile
      ? "/usr/bin/promtool"
      : null;
  } catch {
    return null;
  }
})();
if (!promtool) {
  console.log(
    "SKIPPED: /metrics through promtool — /usr/bin/promtool is not installed (apt-get install prometheus)",
  );
}

Deno.test({
  name:
    "/metrics passes promtool check metrics (only the catalogue's own _count/_sum names are linted)",
  ignore: !promtool,
  fn: async () => {
    const r = receiver("summary");
    await r.post(clusterEvent(A, 1));
    await r.post(clusterEvent(B, 2, { seldon_core_version: 'a"b\\c\nd' }));
    const { text } = await r.scrape();
    const child = new Deno.Command(promtool!, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    const report = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    // 0: clean; 3: lint findings only. 1 would be a parse error.
    assert(out.code === 0 || out.code === 3, report);
    // The catalogue's names are a compatibility contract; only they may be linted.
    const catalogue = new Set<string>(CATALOGUE.map((m) => m.name));
    const lint =
      /^seldon_usage_(\w+) (non-histogram and non-summary metrics should not have "_(count|sum)" suffix|metric names should not contain abbreviated units)$/;
    for (const line of report.split("\n").filter((l) => l.trim() !== "")) {
      const m = lint.exec(line);
      assert(m && catalogue.has(nth(m, 1)), `promtool: ${line}`);
    }
  },
});

Deno.test("a snapshot keeps a catalogue metric only of the catalogue's type, as the agent checks it", () => {
  const kept = snapshotValues({
    model_count: 3,
    pipeline_count: 1.5,
    server_count: -1,
    server_replica_count: Infinity,
    server_cpu_cores_sum: 2.5,
    server_memory_gb_sum: -0.5,
    seldon_core_version: "v".repeat(MAX_STRING_LENGTH + 10),
    kubernetes_version: 1,
    is_kubernetes: "true",
  });
  assertEquals([...kept.keys()].sort(), [
    "model_count",
    "seldon_core_version",
    "server_cpu_cores_sum",
  ]);
  assertEquals(kept.get("model_count"), 3);
  assertEquals(kept.get("server_cpu_cores_sum"), 2.5);
  assertEquals(kept.get("seldon_core_version"), "v".repeat(MAX_STRING_LENGTH));
});
