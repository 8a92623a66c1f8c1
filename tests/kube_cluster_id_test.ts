import { assert, assertEquals, assertMatch } from "./assert.ts";
import { type KubeHarness, withKubeDouble } from "./fixtures/kube_double.ts";
import { openKubernetes } from "../src/kube/access.ts";
import type { KubeClient } from "../src/kube/client.ts";
import {
  getOrCreateClusterId,
  kubeClusterIdStore,
} from "../src/kube/cluster_id.ts";

const UUID_A = "6f1c1a52-27b3-4d1e-9a53-0c3b7f0a9d11";
const UUID_B = "0b9e2a44-5d8f-4c7b-8e21-3a6f9c1d2e55";

async function withClient(
  h: KubeHarness,
  fn: (client: KubeClient) => Promise<void>,
) {
  const access = await openKubernetes({
    env: h.double.podEnv(),
    serviceAccountDir: h.serviceAccountDir,
  });
  assert(access.client, access.problem);
  try {
    await fn(access.client);
  } finally {
    access.client.close();
  }
}

Deno.test("cluster id: created once in ConfigMap hodometer, stable across runs", async () => {
  await withKubeDouble(async (h) => {
    await withClient(h, async (client) => {
      const store = kubeClusterIdStore(client, h.namespace);
      assertEquals(await store.load(), undefined);
      const ids = [UUID_A, UUID_B];
      const first = await getOrCreateClusterId(store, () => ids.shift()!);
      assertEquals(first, UUID_A);
      // a second run (new store, same cluster) finds the same id
      const second = await getOrCreateClusterId(
        kubeClusterIdStore(client, h.namespace),
        () => crypto.randomUUID(),
      );
      assertEquals(second, UUID_A);
      assertEquals(h.double.count("configmaps.create"), 1);
      const stored = h.double.configMaps.get(`${h.namespace}/hodometer`);
      assertEquals((stored?.data as Record<string, string>).cluster_id, UUID_A);
    });
  });
});

Deno.test("cluster id: a create conflict (another replica won) re-reads the winner", async () => {
  await withKubeDouble(async (h) => {
    h.double.raceOnCreate = {
      metadata: { name: "hodometer", namespace: h.namespace },
      data: { cluster_id: UUID_B.toUpperCase() },
    };
    await withClient(h, async (client) => {
      const id = await getOrCreateClusterId(
        kubeClusterIdStore(client, h.namespace),
        () => UUID_A,
      );
      assertEquals(id, UUID_B);
      assertEquals(h.double.count("configmaps.get"), 2);
      assertEquals(h.double.count("configmaps.create"), 1);
    });
  });
});

Deno.test("cluster id: forbidden or unusable is an error value naming the cause", async () => {
  await withKubeDouble(async (h) => {
    await withClient(h, async (client) => {
      const store = kubeClusterIdStore(client, h.namespace);
      h.double.faults.set("configmaps.get", 403);
      const denied = await store.load();
      assert(denied instanceof Error);
      assertEquals(
        denied.message,
        'kubernetes: forbidden to get configmaps "hodometer" (in namespace seldon-mesh): falling back to the state file; grant "get" on "configmaps" in a Role',
      );
      h.double.faults.delete("configmaps.get");
      h.double.faults.set("configmaps.create", 403);
      const noCreate = await getOrCreateClusterId(store, () => UUID_A);
      assert(noCreate instanceof Error);
      assertMatch(noCreate.message, /forbidden to create configmaps/);
      h.double.faults.delete("configmaps.create");

      // only a UUID is accepted from the ConfigMap
      h.double.configMaps.set(`${h.namespace}/hodometer`, {
        data: { cluster_id: "db.internal.corp" },
      });
      const notUuid = await store.load();
      assert(notUuid instanceof Error);
      assertMatch(notUuid.message, /has no UUID under "cluster_id"/);

      h.double.faults.set("configmaps.get", "garbage");
      assert(await store.load() instanceof Error);
      assert(await store.save("not-a-uuid") instanceof Error);
    });
  });
});
