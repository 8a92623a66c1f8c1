// A real Prometheus scrapes a real `hodometer receive` (started as shipped)
// that got events from three clusters, with deploy/prometheus's rules loaded:
// its API must hold the clusters' series, the rules' results, and the alert
// for a refused request. Skipped, saying so, where Prometheus is missing.

import { assert, assertEquals, nth } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import {
  type InstantSample,
  prometheusMissing,
  startPrometheus,
} from "./fixtures/prometheus_process.ts";
import { sampleEvent } from "./receive_sample.ts";

const RULES =
  new URL("../deploy/prometheus/hodometer-rules.yaml", import.meta.url)
    .pathname;
const missing = prometheusMissing();
if (missing) {
  console.log(
    `SKIPPED: a real Prometheus scraping the receiver — ${missing}`,
  );
}

const A = "0a0a0a0a-1111-4222-8333-444455556666";
const B = "0b0b0b0b-1111-4222-8333-444455556666";
const C = "0c0c0c0c-1111-4222-8333-444455556666";

/** A's two collections (4 then 7 models), B's and C's one each. */
const EVENTS = [
  [A, 4, 1, "2.8.0"],
  [A, 7, 2, "2.8.0"],
  [B, 10, 3, "2.9.0"],
  [C, 1, 0, "2.9.0"],
].map(([id, models, pipelines, version], i) =>
  sampleEvent(i, {
    distinct_id: id,
    cluster_id: id,
    model_count: models,
    pipeline_count: pipelines,
    server_count: 1,
    seldon_core_version: version,
    kubernetes_version: "v1.30.1",
    collector_version: "1.0.0",
  })
);

const byCluster = (result: InstantSample[]) =>
  Object.fromEntries(
    result.map((s) => [s.metric.cluster_id, Number(s.value[1])]),
  );
const single = (result: InstantSample[]) =>
  result.length === 1 ? Number(nth(nth(result, 0).value, 1)) : NaN;

Deno.test({
  name:
    "a real Prometheus scrapes the receiver: the clusters' series, the recording rules and a firing alert",
  ignore: missing !== undefined,
  fn: async () => {
    const receiver = await startReceiverProcess({
      args: ["--record-level", "all"],
    });
    let prometheus;
    try {
      for (const event of EVENTS) {
        const res = await fetch(`${receiver.url}/track`, {
          method: "POST",
          body: JSON.stringify(event),
        });
        assertEquals(res.status, 200, await res.text());
      }
      const target = new URL(receiver.url).host;
      prometheus = await startPrometheus({
        config: {
          global: { scrape_interval: "1s", evaluation_interval: "1s" },
          rule_files: [RULES],
          scrape_configs: [{
            // The job name the alerting rules use.
            job_name: "hodometer-receiver",
            metrics_path: "/metrics",
            static_configs: [{ targets: [target] }],
          }],
        },
      });
      const up = await prometheus.waitFor(
        'up{job="hodometer-receiver"}',
        (r) => single(r) === 1,
      );
      assertEquals(nth(up, 0).metric.instance, target);

      // A refused request after the first scrape: the counter rises from 0.
      const refused = await fetch(`${receiver.url}/track`);
      assertEquals(refused.status, 400, await refused.text());

      const models = await prometheus.waitFor(
        "seldon_usage_model_count",
        (r) => r.length === 3,
      );
      assertEquals(byCluster(models), { [A]: 7, [B]: 10, [C]: 1 });
      const info = await prometheus.query("seldon_usage_info");
      assertEquals(
        Object.fromEntries(
          info.map((s) => [s.metric.cluster_id, s.metric.seldon_core_version]),
        ),
        { [A]: "2.8.0", [B]: "2.9.0", [C]: "2.9.0" },
      );
      const lastSeen = await prometheus.query(
        "time() - seldon_usage_last_seen_timestamp_seconds",
      );
      assertEquals(lastSeen.length, 3);
      for (const s of lastSeen) {
        const ago = Number(s.value[1]);
        assert(ago >= -5 && ago < 600, `${s.metric.cluster_id}: ${ago} s ago`);
      }
      assertEquals(
        single(
          await prometheus.query("hodometer_receiver_events_received_total"),
        ),
        4,
      );
      await prometheus.waitFor(
        'hodometer_receiver_events_rejected_total{reason="no_event"}',
        (r) => single(r) === 1,
      );

      // The recording rules, evaluated by Prometheus itself.
      await prometheus.waitFor(
        "seldon_usage:clusters_reporting:1d",
        (r) => single(r) === 3,
      );
      await prometheus.waitFor(
        "seldon_usage:model_count:sum_1d",
        (r) => single(r) === 18,
      );
      await prometheus.waitFor(
        "seldon_usage:pipeline_count:sum_1d",
        (r) => single(r) === 5,
      );
      const versions = await prometheus.waitFor(
        "seldon_usage:clusters_by_seldon_core_version:count_1d",
        (r) => r.length === 2,
      );
      assertEquals(
        Object.fromEntries(
          versions.map((s) => [
            s.metric.seldon_core_version,
            Number(s.value[1]),
          ]),
        ),
        { "2.8.0": 1, "2.9.0": 2 },
      );
      // Every rule evaluates without an error.
      const rules = await prometheus.api("/api/v1/rules") as {
        groups: Array<
          { rules: Array<{ name: string; health: string; lastError?: string }> }
        >;
      };
      const all = rules.groups.flatMap((g) => g.rules);
      assertEquals(all.length, 14);
      for (const rule of all) {
        assertEquals(rule.health, "ok", `${rule.name}: ${rule.lastError}`);
      }
      // The refused request fires its alert; no cluster is silent.
      const alerts = await prometheus.waitFor(
        'ALERTS{alertstate="firing"}',
        (r) => r.some((s) => s.metric.alertname === "HodometerEventsRejected"),
      );
      assertEquals(
        alerts.map((s) => [s.metric.alertname, s.metric.reason]),
        [["HodometerEventsRejected", "no_event"]],
      );
    } finally {
      await prometheus?.stop();
      const exit = await receiver.stop();
      assertEquals(exit.code, 0, exit.stderr);
    }
  },
});
