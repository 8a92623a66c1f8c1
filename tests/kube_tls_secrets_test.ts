import { assert, assertEquals, assertMatch } from "./assert.ts";
import { withKubeDouble } from "./fixtures/kube_double.ts";
import { openKubernetes } from "../src/kube/access.ts";
import { readControlPlaneTls } from "../src/kube/tls_secrets.ts";

const b64 = (s: string) => btoa(s);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("TLS material from the client and server secrets", async () => {
  await withKubeDouble(async (h) => {
    const ns = h.namespace;
    h.double.secrets.set(`${ns}/client-tls`, {
      data: {
        "tls.crt": b64("CLIENT CERT"),
        "tls.key": b64("CLIENT KEY"),
        "ca.crt": b64("CLIENT CA"),
      },
    });
    h.double.secrets.set(`${ns}/server-tls`, {
      data: { "ca.crt": b64("SERVER CA") },
    });
    h.double.secrets.set(`${ns}/no-key`, {
      data: { "tls.crt": b64("CLIENT CERT") },
    });
    h.double.secrets.set(`${ns}/bad-b64`, {
      data: { "ca.crt": "%%%not base64%%%" },
    });
    const access = await openKubernetes({
      env: h.double.podEnv(),
      serviceAccountDir: h.serviceAccountDir,
    });
    assert(access.client, access.problem);
    const client = access.client;
    try {
      assertEquals(
        await readControlPlaneTls(client, {
          namespace: ns,
          clientSecretName: "client-tls",
          serverSecretName: "server-tls",
        }),
        {
          cert: bytes("CLIENT CERT"),
          key: bytes("CLIENT KEY"),
          ca: bytes("SERVER CA"),
        },
      );
      assertEquals(await readControlPlaneTls(client, { namespace: ns }), {});

      const noKey = await readControlPlaneTls(client, {
        namespace: ns,
        clientSecretName: "no-key",
      });
      assert(noKey instanceof Error);
      assertEquals(
        noKey.message,
        'kubernetes: secret "no-key" in namespace seldon-mesh has no key "tls.key"',
      );
      const badB64 = await readControlPlaneTls(client, {
        namespace: ns,
        serverSecretName: "bad-b64",
      });
      assert(badB64 instanceof Error);
      assertMatch(
        badB64.message,
        /secret "bad-b64" .* key "ca.crt" is not non-empty base64/,
      );
      const missing = await readControlPlaneTls(client, {
        namespace: ns,
        serverSecretName: "absent",
      });
      assert(missing instanceof Error);
      assertMatch(
        missing.message,
        /get secrets "absent" \(in namespace seldon-mesh\) answered 404/,
      );
      h.double.faults.set("secrets.get", 403);
      const denied = await readControlPlaneTls(client, {
        namespace: ns,
        clientSecretName: "client-tls",
      });
      assert(denied instanceof Error);
      assertMatch(
        denied.message,
        /forbidden to get secrets "client-tls" .*grant "get" on "secrets" in a Role/,
      );
    } finally {
      client.close();
    }
  });
});
