import { assert, assertEquals, assertMatch } from "./assert.ts";
import { withKubeDouble } from "./fixtures/kube_double.ts";
import { openKubernetes } from "../src/kube/access.ts";
import { readSecretKeys } from "../src/kube/tls_secrets.ts";

const b64 = (s: string) => btoa(s);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("TLS secrets: the keys asked for, decoded; each failure names the secret and the key", async () => {
  await withKubeDouble(async (h) => {
    const ns = h.namespace;
    h.double.secrets.set(`${ns}/client-tls`, {
      data: {
        "tls.crt": b64("CLIENT CERT"),
        "tls.key": b64("CLIENT KEY"),
        "ca.crt": b64("CLIENT CA"),
        "client.pem": b64("CHOSEN NAME"),
      },
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
    const read = (name: string, keys: string[]) =>
      readSecretKeys(client, ns, name, keys);
    try {
      assertEquals(await read("client-tls", ["tls.crt", "tls.key"]), {
        "tls.crt": bytes("CLIENT CERT"),
        "tls.key": bytes("CLIENT KEY"),
      });
      // Any key an operator names (Seldon's chart lets them choose).
      assertEquals(await read("client-tls", ["client.pem", "ca.crt"]), {
        "client.pem": bytes("CHOSEN NAME"),
        "ca.crt": bytes("CLIENT CA"),
      });

      const noKey = await read("client-tls", ["tls.crt", "root.pem"]);
      assert(noKey instanceof Error);
      assertEquals(
        noKey.message,
        'kubernetes: secret "client-tls" in namespace seldon-mesh has no key "root.pem"',
      );
      // A key the data does not hold, even one every object has.
      const inherited = await read("client-tls", ["constructor"]);
      assert(inherited instanceof Error);
      assertMatch(inherited.message, /has no key "constructor"/);
      const badB64 = await read("bad-b64", ["ca.crt"]);
      assert(badB64 instanceof Error);
      assertMatch(
        badB64.message,
        /secret "bad-b64" .* key "ca.crt" is not non-empty base64/,
      );
      const missing = await read("absent", ["ca.crt"]);
      assert(missing instanceof Error);
      assertMatch(
        missing.message,
        /get secrets "absent" \(in namespace seldon-mesh\) answered 404/,
      );
      h.double.faults.set("secrets.get", 403);
      const denied = await read("client-tls", ["tls.crt"]);
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
