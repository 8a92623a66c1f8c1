// hodometer as a drop-in for the stock Seldon Helm chart: its environment
// unchanged (four TLS files it never mounts, both secret names, PLAINTEXT),
// with the binary's permissions and flags, publishing to a loopback receiver.

import { assertEquals, assertStringIncludes } from "./assert.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import {
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { readEnvFile, STOCK_CHART_ENV } from "./fixtures/env_file.ts";

Deno.test("stock chart: run --once with its environment unchanged publishes one event with the scenario's counts", async () => {
  const stock = await readEnvFile(STOCK_CHART_ENV);
  const scheduler = await startSchedulerDouble(sampleScenario());
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all"],
    env: { STORE: ":memory:" },
  });
  try {
    const r = await hodometer(["run", "--once"], {
      ...stock,
      SCHEDULER_HOST: "127.0.0.1",
      SCHEDULER_PLAINTXT_PORT: String(scheduler.port),
      POD_NAMESPACE: "seldon-mesh",
      // Never Seldon's real endpoint from a test.
      PUBLISH_URL: receiver.url,
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "delivered to 1 of 1 URL(s)");
    // Nothing TLS-related was read or complained about.
    assertEquals(
      /TLS|certs|\[(WRN|ERR|FTL)\]/i.test(r.stderr),
      false,
      r.stderr,
    );
    const events = await (await fetch(`${receiver.url}/events`)).json();
    assertEquals(events.length, 1);
    const p = events[0].properties;
    for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
      assertEquals(p[name], value, name);
    }
    assertEquals(p.is_kubernetes, false);
  } finally {
    await receiver.stop();
    await scheduler.close();
  }
});
