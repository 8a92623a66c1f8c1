// TLS to the scheduler as Seldon's Go hodometer does it (components/tls at
// seldon-core 7b77f8b): a scheduler addressed by IP, the client secret's CA,
// secret keys named by the *_LOCATION variables, the server secret used only
// with the client secret; over real TLS on loopback, and as shipped in a pod.

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { collect } from "../src/collect/collector.ts";
import {
  openScheduler,
  type SchedulerTls,
} from "../src/collect/scheduler_client.ts";
import { schedulerSources } from "../src/collect/scheduler_sources.ts";
import {
  planProblem,
  readSchedulerTls,
  schedulerTlsPlan,
  secretKeyName,
  type TlsSettings,
} from "../src/collect/scheduler_tls.ts";
import { type KubeAccess, openKubernetes } from "../src/kube/access.ts";
import { type Certs, generateCerts, signServerCert } from "./fixtures/certs.ts";
import { type KubeHarness, withKubeDouble } from "./fixtures/kube_double.ts";
import { hodometer } from "./fixtures/hodometer_process.ts";
import {
  type DoubleTls,
  HOSTILE_NAMES,
  SAMPLE_COUNTS,
  sampleScenario,
  startSchedulerDouble,
} from "./fixtures/scheduler_double.ts";

const NO_TLS: TlsSettings = {
  clientTlsCrt: undefined,
  clientTlsKey: undefined,
  clientTlsCa: undefined,
  serverTlsCa: undefined,
  clientTlsSecretName: undefined,
  serverTlsSecretName: undefined,
};

/** What the stock chart sets (stock-chart.env), locations never mounted. */
const CHART: TlsSettings = {
  clientTlsCrt: "/tmp/certs/cpc/tls.crt",
  clientTlsKey: "/tmp/certs/cpc/tls.key",
  clientTlsCa: "/tmp/certs/cpc/ca.crt",
  serverTlsCa: "/tmp/certs/cps/ca.crt",
  clientTlsSecretName: "seldon-controlplane-client",
  serverTlsSecretName: "seldon-controlplane-server",
};

// ------------------------------------------------------------ pure rules

Deno.test("a secret's key is the file name of its location, as Go's filepath.Base", () => {
  assertEquals(secretKeyName(undefined, "tls.crt"), "tls.crt");
  assertEquals(secretKeyName("/tmp/certs/cpc/tls.crt", "x"), "tls.crt");
  assertEquals(secretKeyName("/etc/seldon/client.pem", "x"), "client.pem");
  assertEquals(secretKeyName("relative.key", "x"), "relative.key");
  assertEquals(secretKeyName("/etc/seldon/dir/", "x"), "dir");
  assertEquals(secretKeyName("/", "x"), "/");
});

Deno.test("TLS plan: the client secret named, every piece from secrets, the server's CA from its own", () => {
  assertEquals(schedulerTlsPlan(CHART), {
    cert: { secret: "seldon-controlplane-client", key: "tls.crt" },
    key: { secret: "seldon-controlplane-client", key: "tls.key" },
    ca: { secret: "seldon-controlplane-server", key: "ca.crt" },
  });
  // Without the server secret the client secret's CA validates the
  // scheduler (store.go:241-244); the server CA file is not read.
  assertEquals(
    schedulerTlsPlan({ ...CHART, serverTlsSecretName: undefined }).ca,
    { secret: "seldon-controlplane-client", key: "ca.crt" },
  );
  // Keys as the operator's chart values name the files.
  assertEquals(
    schedulerTlsPlan({
      ...NO_TLS,
      clientTlsSecretName: "c",
      clientTlsCrt: "/certs/client.pem",
      clientTlsKey: "/certs/client-key.pem",
      clientTlsCa: "/certs/root.pem",
    }),
    {
      cert: { secret: "c", key: "client.pem" },
      key: { secret: "c", key: "client-key.pem" },
      ca: { secret: "c", key: "root.pem" },
    },
  );
  // Locations unset: the usual keys of a kubernetes.io/tls secret.
  assertEquals(
    schedulerTlsPlan({ ...NO_TLS, clientTlsSecretName: "c" }),
    {
      cert: { secret: "c", key: "tls.crt" },
      key: { secret: "c", key: "tls.key" },
      ca: { secret: "c", key: "ca.crt" },
    },
  );
});

Deno.test("TLS plan: without the client secret every piece is a file, and the server secret is not used", () => {
  const files = { ...CHART, clientTlsSecretName: undefined };
  const crt = "CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION";
  const key = "CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION";
  assertEquals(schedulerTlsPlan(files), {
    cert: { variable: crt, file: "/tmp/certs/cpc/tls.crt" },
    key: { variable: key, file: "/tmp/certs/cpc/tls.key" },
    ca: {
      variable: "CONTROL_PLANE_SERVER_TLS_CA_LOCATION",
      file: "/tmp/certs/cps/ca.crt",
    },
  });
  assertEquals(
    schedulerTlsPlan({ ...files, serverTlsCa: undefined }).ca,
    {
      variable: "CONTROL_PLANE_CLIENT_TLS_CA_LOCATION",
      file: "/tmp/certs/cpc/ca.crt",
    },
  );
  assertEquals(planProblem(schedulerTlsPlan(files)), undefined);
  assertMatch(
    planProblem(
      schedulerTlsPlan({
        ...files,
        serverTlsCa: undefined,
        clientTlsCa: undefined,
      }),
    ) ?? "",
    /no CA to validate the scheduler/,
  );
  assertMatch(
    planProblem(schedulerTlsPlan({ ...files, clientTlsKey: undefined })) ?? "",
    /a client certificate needs its key/,
  );
});

// ------------------------------------------------------------ over TLS

let shared: Certs | undefined;
const certs = async () =>
  shared ??= await generateCerts(await Deno.makeTempDir());

/** The scheduler's version as hodometer asks it at `host`, or the failures. */
async function ask(host: string, port: number, tls: SchedulerTls) {
  const client = openScheduler({ host, port, tls });
  try {
    const sources = schedulerSources(client, {
      level: "cluster",
      timeoutMs: 5_000,
      retry: { baseDelayMs: 10, maxAttempts: 1 },
    });
    const c = await collect(sources, {
      level: "cluster",
      giveUpAfterMs: 8_000,
    });
    return { version: c.snapshot.seldon_core_version, failures: c.failures };
  } finally {
    client.close();
  }
}

async function withTlsScheduler<T>(
  tls: DoubleTls,
  fn: (port: number) => Promise<T>,
  host = "127.0.0.1",
): Promise<T> {
  const double = await startSchedulerDouble(sampleScenario(), { tls, host });
  try {
    return await fn(double.port);
  } finally {
    await double.close();
  }
}

Deno.test("a scheduler addressed by IP: its certificate's IP SAN is checked, as Go's client does", async () => {
  const c = await certs();
  const client = { ca: c.caPem, cert: c.clientCertPem, key: c.clientKeyPem };
  const mtls = (certPem: string, keyPem: string): DoubleTls => ({
    caPem: c.caPem,
    certPem,
    keyPem,
    requireClientCert: true,
  });
  // generateCerts' server certificate names IP:127.0.0.1 and DNS:localhost.
  await withTlsScheduler(mtls(c.certPem, c.keyPem), async (port) => {
    assertEquals(await ask("127.0.0.1", port, client), {
      version: SAMPLE_COUNTS.seldon_core_version,
      failures: [],
    });
    assertEquals((await ask("localhost", port, client)).failures, []);
  });
  const v6 = await signServerCert(c.dir, "v6", { altNames: ["IP:::1"] });
  await withTlsScheduler(mtls(v6.certPem, v6.keyPem), async (port) => {
    for (const host of ["::1", "[::1]"]) {
      assertEquals((await ask(host, port, client)).failures, [], host);
    }
  }, "[::1]");
  // An address the certificate does not name is refused, saying why.
  const elsewhere = await signServerCert(c.dir, "elsewhere", {
    altNames: ["DNS:localhost", "IP:10.9.9.9"],
  });
  await withTlsScheduler(
    mtls(elsewhere.certPem, elsewhere.keyPem),
    async (port) => {
      const got = await ask("127.0.0.1", port, client);
      assertEquals(got.version, undefined);
      assertMatch(nth(got.failures, 0), /altnames: IP: 127\.0\.0\.1 is not in/);
    },
  );
});

/** The TLS material from the Kubernetes double, as a pod reads it. */
async function fromSecrets(h: KubeHarness, settings: TlsSettings) {
  const kube: KubeAccess = await openKubernetes({
    env: h.double.podEnv(),
    serviceAccountDir: h.serviceAccountDir,
  });
  try {
    return await readSchedulerTls(settings, { kube });
  } finally {
    kube.client?.close();
  }
}

const b64 = (s: string) => btoa(s);

/** The harness's server certificate, for a scheduler that requires mTLS. */
async function harnessScheduler(h: KubeHarness): Promise<DoubleTls> {
  const read = (f: string) => Deno.readTextFile(`${h.dir}/${f}`);
  return {
    caPem: await read("ca.crt"),
    certPem: await read("server.crt"),
    keyPem: await read("server.key"),
    requireClientCert: true,
  };
}

/**
 * Secrets with keys an operator chose: the client's certificate, key and CA
 * (root.pem; ca.crt holds `otherCa`, which did not sign the scheduler), and
 * two server secrets with the right CA and with `otherCa`.
 */
async function seedChosenKeys(h: KubeHarness, otherCa: string) {
  const read = (f: string) => Deno.readTextFile(`${h.dir}/${f}`);
  const ns = h.namespace;
  h.double.secrets.set(`${ns}/client-tls`, {
    data: {
      "client.pem": b64(await read("client.crt")),
      "client-key.pem": b64(await read("client.key")),
      "root.pem": b64(await read("ca.crt")),
      "ca.crt": b64(otherCa),
    },
  });
  h.double.secrets.set(`${ns}/right-ca`, {
    data: { "scheduler-ca.pem": b64(await read("ca.crt")) },
  });
  h.double.secrets.set(`${ns}/wrong-ca`, { data: { "ca.crt": b64(otherCa) } });
}

/** Settings that name seedChosenKeys' keys, without a server secret. */
const CHOSEN: TlsSettings = {
  clientTlsSecretName: "client-tls",
  serverTlsSecretName: undefined,
  clientTlsCrt: "/etc/seldon/cpc/client.pem",
  clientTlsKey: "/etc/seldon/cpc/client-key.pem",
  clientTlsCa: "/etc/seldon/cpc/root.pem",
  // Named (as the chart always does) and never mounted: not read.
  serverTlsCa: "/tmp/certs/cps/scheduler-ca.pem",
};

Deno.test("secrets: keys named by the locations, the client secret's CA used when no server secret is named, the server's CA when it is", async () => {
  const other = await generateCerts(await Deno.makeTempDir());
  try {
    await withKubeDouble(async (h) => {
      await seedChosenKeys(h, other.caPem);
      const server = await harnessScheduler(h);
      await withTlsScheduler(server, async (port) => {
        const tls = await fromSecrets(h, CHOSEN);
        assert(!(tls instanceof Error), String(tls));
        assertEquals((await ask("127.0.0.1", port, tls)).failures, []);

        // The server secret's CA wins over the client's (store.go:245-248).
        const right = await fromSecrets(h, {
          ...CHOSEN,
          clientTlsCa: undefined, // the client's CA is now the wrong ca.crt
          serverTlsSecretName: "right-ca",
        });
        assert(!(right instanceof Error), String(right));
        assertEquals((await ask("127.0.0.1", port, right)).failures, []);
        const wrong = await fromSecrets(h, {
          ...CHOSEN,
          serverTlsSecretName: "wrong-ca",
          serverTlsCa: undefined,
        });
        assert(!(wrong instanceof Error), String(wrong));
        assertMatch(
          nth((await ask("127.0.0.1", port, wrong)).failures, 0),
          /certificate|issuer|verify/i,
        );
      });

      // A key the locations name but the secret lacks is named.
      const missing = await fromSecrets(h, {
        ...CHOSEN,
        clientTlsKey: "/etc/seldon/cpc/tls.key",
      });
      assert(missing instanceof Error);
      assertEquals(
        missing.message,
        `scheduler TLS: kubernetes: secret "client-tls" in namespace ${h.namespace} has no key "tls.key"; the scheduler is not asked`,
      );
    });
  } finally {
    await Deno.remove(other.dir, { recursive: true });
  }
});

Deno.test("files: no Kubernetes needed, the server secret name is not used; a CA without a certificate or a key that does not match is refused", async () => {
  const c = await certs();
  const files: TlsSettings = {
    ...NO_TLS,
    clientTlsCrt: `${c.dir}/client.crt`,
    clientTlsKey: `${c.dir}/client.key`,
    clientTlsCa: `${c.dir}/ca.crt`,
    serverTlsSecretName: "seldon-controlplane-server",
  };
  const offCluster = { kube: { inKubernetes: false } as const };
  const tls = await readSchedulerTls(files, offCluster);
  assert(!(tls instanceof Error), String(tls));
  const server: DoubleTls = {
    caPem: c.caPem,
    certPem: c.certPem,
    keyPem: c.keyPem,
    requireClientCert: true,
  };
  await withTlsScheduler(server, async (port) => {
    assertEquals((await ask("127.0.0.1", port, tls)).failures, []);
  });

  const notPem = `${c.dir}/not-a-ca.pem`;
  await Deno.writeTextFile(notPem, "-----BEGIN CERTIFICATE-----\nAAAA\n");
  const noCa = await readSchedulerTls(
    { ...files, serverTlsCa: notPem },
    offCluster,
  );
  assert(noCa instanceof Error);
  assertEquals(
    noCa.message,
    `scheduler TLS: CONTROL_PLANE_SERVER_TLS_CA_LOCATION=${notPem} holds no PEM certificate; the scheduler is not asked`,
  );
  const mismatch = await readSchedulerTls(
    { ...files, clientTlsKey: `${c.dir}/server.key` },
    offCluster,
  );
  assert(mismatch instanceof Error);
  assertMatch(
    mismatch.message,
    /the private key \(CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION=.*server\.key\) does not match the certificate \(CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION=.*client\.crt\)/,
  );
  const noCaAtAll = await readSchedulerTls(
    { ...files, clientTlsCa: undefined },
    offCluster,
  );
  assert(noCaAtAll instanceof Error);
  assertMatch(noCaAtAll.message, /no CA to validate the scheduler/);
});

// ------------------------------------------------------------ as shipped

Deno.test("in a pod, as shipped: SSL to a scheduler addressed by IP, from the client secret alone, with keys the locations name", async () => {
  await withKubeDouble(async (h) => {
    const read = (f: string) => Deno.readTextFile(`${h.dir}/${f}`);
    h.double.secrets.set(`${h.namespace}/seldon-controlplane-client`, {
      data: {
        "client.pem": b64(await read("client.crt")),
        "client-key.pem": b64(await read("client.key")),
        "root.pem": b64(await read("ca.crt")),
      },
    });
    const server = await harnessScheduler(h);
    await withTlsScheduler(server, async (port) => {
      const r = await hodometer(["collect", "--compact"], {
        ...h.double.podEnv(),
        KUBERNETES_SERVICEACCOUNT_DIR: h.serviceAccountDir,
        POD_NAMESPACE: h.namespace,
        SCHEDULER_HOST: "127.0.0.1",
        SCHEDULER_TLS_PORT: String(port),
        CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
        CONTROL_PLANE_CLIENT_TLS_SECRET_NAME: "seldon-controlplane-client",
        CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION: "/tmp/certs/cpc/client.pem",
        CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION: "/tmp/certs/cpc/client-key.pem",
        CONTROL_PLANE_CLIENT_TLS_CA_LOCATION: "/tmp/certs/cpc/root.pem",
        CONTROL_PLANE_SERVER_TLS_CA_LOCATION: "/tmp/certs/cps/ca.crt",
      });
      assertEquals(r.code, 0, r.stderr);
      const p = JSON.parse(r.stdout).properties;
      for (const [name, value] of Object.entries(SAMPLE_COUNTS)) {
        assertEquals(p[name], value, name);
      }
      assert(!/scheduler TLS/.test(r.stderr), r.stderr);
      for (const name of HOSTILE_NAMES) {
        assert(!r.stdout.includes(name), `the event holds ${name}`);
      }
    });
  });
});

Deno.test("cleanup test certificates", async () => {
  if (shared) await Deno.remove(shared.dir, { recursive: true });
});
