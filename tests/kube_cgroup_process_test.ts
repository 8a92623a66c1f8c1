// Done when (issue 21, item 3): as shipped (the binary's permissions and V8
// flags), inside a real memory cgroup, cold, with a hostile Kubernetes API (a
// 7 MB nodes list; an endless nodes answer), `run --once` exits 0 and still
// publishes the event, without the metrics it could not read. In-cluster in
// the stock pod's 32 MiB; through a kubeconfig in 96 MiB, the smallest limit
// its benign run holds in (@kubernetes/client-node's own footprint, see
// docs/kubernetes-reads.md). The scheduler side is the small sample cluster,
// so what is proved is the Kubernetes bound. Skipped, with the reason, where
// the machine cannot make memory cgroups.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { HERMETIC_ENV } from "./fixtures/hodometer_process.ts";
import {
  type HostileShape,
  type KubeHarness,
  seldonRuntime,
  server,
  serverConfig,
  withKubeDouble,
} from "./fixtures/kube_double.ts";
import { hugeItemCount } from "./fixtures/kube_hostile.ts";
import {
  type CgroupRun,
  memoryCgroups,
  runInCgroup,
} from "./fixtures/memory_cgroup.ts";
import {
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";
import { startTrackSink } from "./fixtures/track_sink.ts";
import { shippedRunArgs } from "../scripts/permissions.ts";
import { MiB } from "../src/runtime/units.ts";

const host = await memoryCgroups();
const skipped = typeof host === "string" ? host : undefined;

/** The stock chart's memory limit. */
const POD_MIB = 32;
/** The smallest limit a benign kubeconfig run holds in, cold (80 MiB is killed). */
const KUBECONFIG_MIB = 96;
/**
 * Anonymous memory a hostile answer may add to a benign run's: reading is
 * streamed, so what is left is the reader's buffers and code (measured
 * +2–4 MiB; before, +40–80 MiB).
 */
const HOSTILE_EXTRA_ANON_MIB = 6;

const HUGE: HostileShape = { kind: "huge", bytes: 7_000_000 };
const ENDLESS: HostileShape = { kind: "endless" };

type Mode = "in-cluster" | "kubeconfig";

interface Published {
  run: CgroupRun;
  /** The event's properties, when one was published. */
  event?: Record<string, unknown>;
}

/** `run --once` in a cgroup against the doubles, with the nodes list answered by `shape`. */
async function runOnce(
  mode: Mode,
  shape: HostileShape | undefined,
): Promise<Published> {
  let published: Published | undefined;
  await withKubeDouble(async (h) => {
    populate(h);
    if (shape) h.double.hostile.set("nodes", shape);
    const scheduler = await startSchedulerDouble(sampleScenario());
    const sink = startTrackSink();
    try {
      if (typeof host === "string") throw new Error(host);
      const run = await runInCgroup(host, {
        limitBytes: (mode === "in-cluster" ? POD_MIB : KUBECONFIG_MIB) * MiB,
        cold: true,
        timeoutMs: 120_000,
        cmd: Deno.execPath(),
        args: [...shippedRunArgs(), "run", "--once"],
        env: {
          ...HERMETIC_ENV,
          ...await kubeEnv(h, mode),
          SCHEDULER_HOST: "127.0.0.1",
          SCHEDULER_PORT: String(scheduler.port),
          PUBLISH_URL: sink.url,
          STATE_DIR: `${h.dir}/state`,
        },
      });
      published = { run, event: sink.requests[0]?.event?.properties };
    } finally {
      await sink.close();
      await scheduler.close();
    }
  });
  return published!;
}

function populate(h: KubeHarness) {
  const d = h.double;
  d.nodeNames = ["n1", "n2", "n3"];
  d.seldonRuntimes = [seldonRuntime(h.namespace), seldonRuntime("other")];
  d.serverConfigs = [serverConfig(h.namespace, "mlserver", [{
    name: "server",
    image: "seldonio/mlserver:1.6.0",
    resources: { limits: { cpu: "2" } },
  }])];
  d.servers = [server(h.namespace, "s", { serverConfig: "mlserver" })];
}

async function kubeEnv(
  h: KubeHarness,
  mode: Mode,
): Promise<Record<string, string>> {
  if (mode === "in-cluster") {
    return {
      ...h.double.podEnv(),
      KUBERNETES_SERVICEACCOUNT_DIR: h.serviceAccountDir,
      POD_NAMESPACE: h.namespace,
    };
  }
  const path = `${h.dir}/kubeconfig`;
  await Deno.writeTextFile(path, h.double.kubeconfig(h.namespace));
  return { KUBECONFIG: path };
}

function describe(label: string, p: Published): string {
  const r = p.run;
  return `${label}: exit ${r.code}, peak ${
    (r.peakBytes / MiB).toFixed(1)
  } MiB, anonymous ${
    (r.anonPeakBytes / MiB).toFixed(1)
  } MiB, limit hits ${r.limitHits}, OOM kills ${r.oomKills}, cold\n${
    r.stderr.slice(-2000)
  }`;
}

/** Exited 0, not killed, published with everything but what the nodes list gives. */
function assertPublished(label: string, p: Published): void {
  const why = describe(label, p);
  // The figures, for whoever reads the test's output.
  console.log(why.split("\n")[0]);
  assertEquals(p.run.oomKills, 0, why);
  assertEquals(p.run.code, 0, why);
  assert(p.event, `no event published: ${why}`);
  for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
    assertEquals(p.event[name], value, `${name}: ${why}`);
  }
  assertEquals(p.event.kubernetes_version, "v1.30.2", why);
  assertEquals(p.event.is_global_installation, true, why);
  assertEquals(p.event.server_cpu_cores_sum, 2, why);
}

for (const mode of ["in-cluster", "kubeconfig"] as const) {
  const limit = mode === "in-cluster" ? POD_MIB : KUBECONFIG_MIB;
  Deno.test({
    name:
      `${mode}, ${limit} MiB cgroup, cold: run --once publishes through a 7 MB nodes list and an endless one${
        skipped ? ` (skipped: ${skipped})` : ""
      }`,
    ignore: skipped !== undefined,
    fn: async () => {
      const benign = await runOnce(mode, undefined);
      assertPublished("benign", benign);
      assertEquals(benign.event?.node_count, 3);

      const huge = await runOnce(mode, HUGE);
      assertPublished("7 MB nodes list", huge);
      assertEquals(huge.event?.node_count, hugeItemCount(HUGE));

      const endless = await runOnce(mode, ENDLESS);
      assertPublished("endless nodes answer", endless);
      assertEquals(endless.event?.node_count, undefined);
      assertMatch(
        endless.run.stderr,
        /kubernetes: cannot list nodes \(cluster-wide\): GET \/api\/v1\/nodes: the answer is larger than 16777216 bytes \(16 MiB\) \(cut off there\): node_count omitted/,
      );

      const shapes: [string, Published][] = [["7 MB", huge], [
        "endless",
        endless,
      ]];
      for (const [label, hostile] of shapes) {
        assert(
          hostile.run.anonPeakBytes <=
            benign.run.anonPeakBytes + HOSTILE_EXTRA_ANON_MIB * MiB,
          `${label}: anonymous peak ${
            (hostile.run.anonPeakBytes / MiB).toFixed(1)
          } MiB against ${
            (benign.run.anonPeakBytes / MiB).toFixed(1)
          } MiB benign`,
        );
      }
    },
  });
}
