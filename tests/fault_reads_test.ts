// Fault suite, read side: `hodometer receive` as shipped (the binary's
// permissions and V8 flags), holding 10 000 clusters, in `summary` and in
// `all` on SQLite, under the read loads that ended the earlier receiver with
// "Fatal JavaScript out of memory": 250 readers of the page at once, 250
// readers of /metrics (half of them asking for gzip, as Prometheus does), and
// HTTP/2 with prior knowledge, 5 connections × 200 streams of /metrics whose
// bodies are never read. Each load runs for LOAD_MS. Throughout, the process
// lives, /healthz answers every poll, and the peak resident set (VmHWM, the
// runtime's own file pages included) stays within the receiver manifest's
// memory request: the read budget holds (docs/receiver-reads.md).
//
// Timings are printed (the slowest /healthz answer under each load), never
// asserted: the bench holds the goals.

import { assert, assertEquals } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { memoryOf } from "./fixtures/receiver_fuzz.ts";
import {
  type LoadOutcome,
  readLoads,
  resetPeak,
  sendFleet,
  watchHealth,
} from "./fixtures/read_load.ts";

const CLUSTERS = 10_000;
const LOAD_MS = 4_000;
/** Between loads: the receiver sees the last load's connections closed. */
const SETTLE_MS = 300;
/** The receiver manifest's memory request (deploy/kubernetes). */
const VMHWM_BOUND_KB = 128 * 1024;
const LOADS = readLoads(LOAD_MS);

/** Only what the read side answers under load: 200, or 503 past a limit. */
function assertAnswers(load: string, outcome: LoadOutcome): void {
  const other = Object.keys(outcome.answers).filter((k) =>
    k !== "200" && !k.startsWith("503")
  );
  assertEquals(other, [], `${load}: ${JSON.stringify(outcome.answers)}`);
  assert((outcome.answers["200"] ?? 0) > 0, `${load}: no reader was served`);
}

async function readsUnderLoad(mode: "summary" | "all"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-fault-reads-" });
  const receiver = await startReceiverProcess({
    args: [
      "--record-level",
      mode,
      ...(mode === "all" ? ["--store", `${dir}/events.db`] : []),
    ],
  });
  try {
    await sendFleet(receiver.url, CLUSTERS);
    const held = await (await fetch(`${receiver.url}/healthz`)).json();
    assertEquals(held.clusters, CLUSTERS);
    const peaks: number[] = [];
    for (const load of LOADS) {
      // The connections of what came before are closed by then.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      // Each load's own peak when the kernel lets VmHWM be reset; else the
      // peak so far (which is only larger).
      const own = await resetPeak(receiver.pid);
      const health = watchHealth(receiver.url);
      const outcome = await load.run(receiver.url, receiver.port);
      const watched = await health.stop();
      const { vmHwmKb } = await memoryOf(receiver.pid); // throws if it died
      peaks.push(vmHwmKb);
      console.log(
        `${mode}: ${load.name}: VmHWM ${Math.round(vmHwmKb / 1024)} MiB${
          own ? "" : " (since start)"
        }; slowest /healthz ${Math.round(watched.slowestMs)} ms of ${
          watched.answered + watched.failed.length
        }; answers ${
          JSON.stringify(outcome.answers)
        }, ${outcome.whole} read whole, ${
          Math.round(outcome.bytes / 1024 / 1024)
        } MiB`,
      );
      assertEquals(watched.failed, [], `${load.name}: /healthz`);
      assertAnswers(load.name, outcome);
    }
    peaks.forEach((kb, i) =>
      assert(
        kb <= VMHWM_BOUND_KB,
        `${mode}: ${LOADS[i]!.name}: VmHWM ${kb} kB, over ${VMHWM_BOUND_KB} kB`,
      )
    );
    const exit = await receiver.stop();
    assertEquals(exit.code, 0, exit.stderr.slice(-3000));
    const errors = exit.stderr.split("\n").filter((l) =>
      /^\S+ \[(ERR|FTL)\]/.test(l)
    );
    assertEquals(errors, []);
  } finally {
    await receiver.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test(`receive summary, ${CLUSTERS} clusters: 250 page readers, 250 /metrics readers, HTTP/2 5 × 200 unread streams; alive, /healthz answers, VmHWM ≤ 128 MiB`, () =>
  readsUnderLoad("summary"));

Deno.test(`receive all on SQLite, ${CLUSTERS} clusters: the same loads; alive, /healthz answers, VmHWM ≤ 128 MiB`, () =>
  readsUnderLoad("all"));
