import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { resolveSettings } from "../src/config/resolve.ts";
import {
  parseDuration,
  parseHttpUrl,
  parseUrlList,
} from "../src/config/parsers.ts";
import { type SettingKey, SETTINGS } from "../src/config/settings.ts";
import { RUN_KEYS } from "../src/agent/keys.ts";
import { readEnvFile, STOCK_CHART_ENV } from "./fixtures/env_file.ts";

const readable = new Set(["/tls/ca.crt"]);
const resolve = <K extends SettingKey>(
  keys: readonly K[],
  env: Record<string, string> = {},
  flags: Partial<Record<SettingKey, string>> = {},
) =>
  resolveSettings(keys, { env, flags, fileReadable: (p) => readable.has(p) });

Deno.test("defaults apply when neither flag nor variable is set", () => {
  const r = resolve([
    "metricsLevel",
    "schedulerHost",
    "schedulerPort",
    "publishUrl",
    "logLevel",
  ]);
  assert(r.ok);
  assertEquals(r.config, {
    metricsLevel: "feature",
    schedulerHost: "seldon-scheduler",
    schedulerPort: 9004,
    publishUrl: "http://hodometer.seldon.io",
    logLevel: "info",
  });
});

Deno.test("levels are case-insensitive and warn is an alias of warning", () => {
  const r = resolve(["metricsLevel", "logLevel", "recordLevel"], {
    METRICS_LEVEL: "Resource",
    LOG_LEVEL: "WARN",
    RECORD_LEVEL: "ALL",
  });
  assert(r.ok);
  assertEquals(r.config, {
    metricsLevel: "resource",
    logLevel: "warning",
    recordLevel: "all",
  });
});

Deno.test("flags win over the environment", () => {
  const r = resolve(["metricsLevel", "listenPort"], {
    METRICS_LEVEL: "cluster",
    LISTEN_PORT: "9",
  }, {
    metricsLevel: "resource",
  });
  assert(r.ok);
  assertEquals(r.config, { metricsLevel: "resource", listenPort: 9 });
});

Deno.test("SCHEDULER_PORT is an alias; SCHEDULER_PLAINTXT_PORT wins over it", () => {
  const alias = resolve(["schedulerPort"], { SCHEDULER_PORT: "9100" });
  assert(alias.ok);
  assertEquals(alias.config.schedulerPort, 9100);
  const both = resolve(["schedulerPort"], {
    SCHEDULER_PORT: "9100",
    SCHEDULER_PLAINTXT_PORT: "9200",
  });
  assert(both.ok);
  assertEquals(both.config.schedulerPort, 9200);
});

Deno.test("every bad setting is reported at once, each naming variable, value and what is accepted", () => {
  const r = resolve(
    [
      "metricsLevel",
      "schedulerPort",
      "publishUrl",
      "controlPlaneSecurityProtocol",
      "serverTlsCa",
      "logLevel",
      "schedulerHost",
    ],
    {
      METRICS_LEVEL: "verbose",
      SCHEDULER_PLAINTXT_PORT: "90a4",
      PUBLISH_URL: "ftp://x",
      CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
      CONTROL_PLANE_SERVER_TLS_CA_LOCATION: "/tls/missing.crt",
    },
    { logLevel: "loud" },
  );
  assert(!r.ok);
  assertEquals(r.errors.length, 5);
  assertMatch(
    nth(r.errors, 0),
    /^METRICS_LEVEL="verbose" is not valid: expected one of cluster, resource, feature/,
  );
  assertMatch(
    nth(r.errors, 1),
    /^SCHEDULER_PLAINTXT_PORT="90a4" is not valid: expected a whole number from 1 to 65535/,
  );
  assertMatch(
    nth(r.errors, 2),
    /^PUBLISH_URL="ftp:\/\/x" is not valid: expected an http:\/\/ or https:\/\/ URL/,
  );
  assertMatch(
    nth(r.errors, 3),
    /^LOG_LEVEL="loud" \(given as --log-level\) is not valid/,
  );
  // Files last: whether one is needed depends on the other settings.
  assertMatch(
    nth(r.errors, 4),
    /^CONTROL_PLANE_SERVER_TLS_CA_LOCATION="\/tls\/missing.crt" is not valid: expected a readable file, since CONTROL_PLANE_SECURITY_PROTOCOL=SSL/,
  );
});

Deno.test("ports out of range are refused", () => {
  for (const bad of ["0", "65536", "-1", "1.5", " "]) {
    const r = resolve(["schedulerTlsPort"], {}, { schedulerTlsPort: bad });
    assert(!r.ok, `port ${JSON.stringify(bad)} should be refused`);
  }
});

Deno.test("a readable TLS file is accepted", () => {
  const r = resolve(["controlPlaneSecurityProtocol", "serverTlsCa"], {
    CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
    CONTROL_PLANE_SERVER_TLS_CA_LOCATION: "/tls/ca.crt",
  });
  assert(r.ok);
  assertEquals(r.config.serverTlsCa, "/tls/ca.crt");
});

const TLS_KEYS = [
  "controlPlaneSecurityProtocol",
  "clientTlsCrt",
  "clientTlsKey",
  "clientTlsCa",
  "serverTlsCa",
  "clientTlsSecretName",
  "serverTlsSecretName",
] as const;

const UNMOUNTED_TLS_FILES = {
  CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION: "/tmp/certs/cpc/tls.key",
  CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION: "/tmp/certs/cpc/tls.crt",
  CONTROL_PLANE_CLIENT_TLS_CA_LOCATION: "/tmp/certs/cpc/ca.crt",
  CONTROL_PLANE_SERVER_TLS_CA_LOCATION: "/tmp/certs/cps/ca.crt",
};

Deno.test("TLS files are not checked with PLAINTEXT (the stock chart names four it never mounts)", () => {
  for (const protocol of ["PLAINTEXT", "plaintext", ""]) {
    const r = resolve(TLS_KEYS, {
      ...UNMOUNTED_TLS_FILES,
      CONTROL_PLANE_SECURITY_PROTOCOL: protocol,
      CONTROL_PLANE_CLIENT_TLS_SECRET_NAME: "seldon-controlplane-client",
    });
    assert(r.ok, JSON.stringify(r));
    assertEquals(r.warnings, []);
    assertEquals(r.config.controlPlaneSecurityProtocol, "PLAINTEXT");
  }
});

Deno.test("with SSL, files are needed unless the client secret is named (Seldon's rule)", () => {
  const errorsWith = (env: Record<string, string>) => {
    const r = resolve(TLS_KEYS, {
      ...UNMOUNTED_TLS_FILES,
      CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
      ...env,
    });
    return r.ok ? [] : r.errors.map((e) => e.split("=")[0]);
  };
  // No secrets: every named file is needed (the client CA is not: the server
  // CA file validates the scheduler).
  assertEquals(errorsWith({}), [
    "CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION",
    "CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION",
    "CONTROL_PLANE_SERVER_TLS_CA_LOCATION",
  ]);
  // Both secrets: no file is read (the locations name keys in them).
  assertEquals(
    errorsWith({
      CONTROL_PLANE_CLIENT_TLS_SECRET_NAME: "client",
      CONTROL_PLANE_SERVER_TLS_SECRET_NAME: "server",
    }),
    [],
  );
  // The client secret alone: its own ca.crt validates the scheduler, and the
  // server CA file the chart names (and never mounts) is not read.
  assertEquals(errorsWith({ CONTROL_PLANE_CLIENT_TLS_SECRET_NAME: "c" }), []);
  // The server secret alone is not used: every piece comes from the files.
  assertEquals(errorsWith({ CONTROL_PLANE_SERVER_TLS_SECRET_NAME: "s" }), [
    "CONTROL_PLANE_CLIENT_TLS_CRT_LOCATION",
    "CONTROL_PLANE_CLIENT_TLS_KEY_LOCATION",
    "CONTROL_PLANE_SERVER_TLS_CA_LOCATION",
  ]);
  // Without a server CA, the client CA file validates the scheduler.
  const noServerCa = resolve(TLS_KEYS, {
    CONTROL_PLANE_SECURITY_PROTOCOL: "SSL",
    CONTROL_PLANE_CLIENT_TLS_CA_LOCATION: "/tmp/certs/cpc/ca.crt",
  });
  assert(!noServerCa.ok);
  assertMatch(
    noServerCa.errors.join("\n"),
    /^CONTROL_PLANE_CLIENT_TLS_CA_LOCATION="\/tmp\/certs\/cpc\/ca.crt" is not valid: expected a readable file, since .*; it is missing or unreadable$/,
  );
});

Deno.test("CONTROL_PLANE_SECURITY_PROTOCOL: SSL exactly is TLS, as for Seldon's components; any other value is plaintext", () => {
  const protocol = (value: string) =>
    resolve(["controlPlaneSecurityProtocol"], {
      CONTROL_PLANE_SECURITY_PROTOCOL: value,
    });
  const ssl = protocol("SSL");
  assert(ssl.ok);
  assertEquals(ssl.config.controlPlaneSecurityProtocol, "SSL");
  assertEquals(ssl.warnings, []);
  for (const plain of ["PLAINTEXT", "plaintext", " Plaintext "]) {
    const r = protocol(plain);
    assert(r.ok);
    assertEquals(r.config.controlPlaneSecurityProtocol, "PLAINTEXT");
    assertEquals(r.warnings, []);
  }
  // Seldon's scheduler opens its TLS port for "SSL" only (util.go:83-84):
  // with "ssl" it serves plaintext, and so hodometer asks in plaintext.
  for (const other of ["ssl", " SSL", "Ssl", "SASL_SSL"]) {
    const r = protocol(other);
    assert(r.ok, "not exit 2");
    assertEquals(r.config.controlPlaneSecurityProtocol, "PLAINTEXT", other);
    assertEquals(r.warnings, [
      `CONTROL_PLANE_SECURITY_PROTOCOL=${
        JSON.stringify(other)
      } is neither SSL nor PLAINTEXT (Seldon takes TLS from "SSL" only, in capitals): the scheduler is reached in plaintext`,
    ]);
  }
});

Deno.test("LOG_LEVEL takes the reference's logrus levels, any case; panic is fatal", () => {
  const cases: Record<string, string> = {
    panic: "fatal",
    FATAL: "fatal",
    Error: "error",
    warn: "warning",
    warning: "warning",
    INFO: "info",
    debug: "debug",
    Trace: "trace",
  };
  for (const [given, level] of Object.entries(cases)) {
    const r = resolve(["logLevel"], { LOG_LEVEL: given });
    assert(r.ok, given);
    assertEquals(r.config.logLevel, level, given);
  }
  const bad = resolve(["logLevel"], { LOG_LEVEL: "loud" });
  assert(!bad.ok);
  assertMatch(nth(bad.errors, 0), /\(or warn, panic\)/);
});

Deno.test("CLUSTER_ID in every form Go's uuid.Parse accepts, normalised", () => {
  const canonical = "22d36da9-9b3a-42ec-adf7-28ca710e6183";
  for (
    const form of [
      canonical,
      canonical.toUpperCase(),
      `{${canonical}}`,
      `urn:uuid:${canonical}`,
      `URN:UUID:${canonical.toUpperCase()}`,
      canonical.replaceAll("-", ""),
      ` ${canonical.replaceAll("-", "").toUpperCase()} `,
    ]
  ) {
    const r = resolve(["clusterId"], { CLUSTER_ID: form });
    assert(r.ok, form);
    assertEquals(r.config.clusterId, canonical, form);
    assertEquals(r.warnings, [], form);
  }
  for (
    const bad of [
      `{${canonical}`,
      `urn:${canonical}`,
      canonical.slice(1),
      `${canonical.replaceAll("-", "")}0`,
      canonical.replace("a", "g"),
    ]
  ) {
    const r = resolve(["clusterId"], { CLUSTER_ID: bad });
    assert(r.ok, bad);
    assertEquals(r.config.clusterId, undefined, bad);
    assertEquals(r.warnings.length, 1, bad);
  }
});

Deno.test("every duration setting has a range; a value outside it says the bound", () => {
  const error = (env: Record<string, string>) => {
    const r = resolve(
      [
        "intervalMs",
        "publishTimeoutMs",
        "schedulerTimeoutMs",
        "kubeTimeoutMs",
        "retentionMs",
      ],
      env,
    );
    return r.ok ? "" : r.errors.join("\n");
  };
  assertMatch(
    error({ PUBLISH_INTERVAL: "0" }),
    /^PUBLISH_INTERVAL="0" is not valid: expected a duration above zero: from 1s to 365d$/,
  );
  assertMatch(error({ PUBLISH_INTERVAL: "400d" }), /expected at most 365d/);
  assertMatch(error({ PUBLISH_INTERVAL: "500ms" }), /expected at least 1s/);
  assertMatch(error({ PUBLISH_INTERVAL: "often" }), /from 1s to 365d, e\.g\./);
  assertMatch(
    error({ SCHEDULER_TIMEOUT: "2h" }),
    /at most 1h: from 100ms to 1h/,
  );
  assertMatch(error({ KUBERNETES_TIMEOUT: "0s" }), /above zero/);
  assertMatch(error({ PUBLISH_TIMEOUT: "1ms" }), /at least 100ms/);
  assertMatch(error({ RETENTION: "36501d" }), /at most 36500d/);
  assertEquals(error({ PUBLISH_INTERVAL: "30d", RETENTION: "0" }), "");
  const ok = resolve(["intervalMs"], { PUBLISH_INTERVAL: "30d" });
  assert(ok.ok);
  assertEquals(ok.config.intervalMs, 30 * 86_400_000);
});

Deno.test("every duration setting says its range in its help", () => {
  for (const def of Object.values(SETTINGS)) {
    if ((def as { arg?: string }).arg === "<duration>") {
      assertMatch(def.description, /from \S+ to \S+\)$/, def.env);
    }
  }
});

Deno.test("the stock chart's environment resolves without an error or a warning", async () => {
  const env = await readEnvFile(STOCK_CHART_ENV);
  assertEquals(Object.keys(env).length, 13);
  const r = resolve(RUN_KEYS, env);
  assert(r.ok, JSON.stringify(r));
  assertEquals(r.warnings, []);
  assertEquals(r.config.controlPlaneSecurityProtocol, "PLAINTEXT");
});

Deno.test("CLUSTER_ID that is not a UUID is ignored with a warning, not an error", () => {
  const r = resolve(["clusterId"], { CLUSTER_ID: "my-laptop" });
  assert(r.ok);
  assertEquals(r.config.clusterId, undefined);
  assertEquals(r.warnings.length, 1);
  assertMatch(
    nth(r.warnings, 0),
    /CLUSTER_ID="my-laptop" is not valid: expected a UUID/,
  );
  const good = resolve(["clusterId"], {
    CLUSTER_ID: "22D36DA9-9B3A-42EC-ADF7-28CA710E6183",
  });
  assert(good.ok);
  assertEquals(good.config.clusterId, "22d36da9-9b3a-42ec-adf7-28ca710e6183");
});

Deno.test("EXTRA_PUBLISH_URLS trims items and ignores empty ones", () => {
  const r = parseUrlList(" http://a:8000/ , ,https://b.example/base,");
  assert(r.ok);
  assertEquals(r.value, ["http://a:8000", "https://b.example/base"]);
  const bad = parseUrlList("http://a,not a url");
  assert(!bad.ok);
  assertMatch(bad.accepted, /"not a url" is not one/);
});

Deno.test("URLs must be http(s) with a host and no query", () => {
  assert(parseHttpUrl("http://hodometer.seldon.io").ok);
  for (
    const bad of [
      "hodometer.seldon.io",
      "file:///etc/passwd",
      "http://h/?q=1",
      "http://",
    ]
  ) {
    assert(!parseHttpUrl(bad).ok, bad);
  }
});

Deno.test("durations accept the usual units", () => {
  const ms = (s: string) => {
    const r = parseDuration(s);
    return r.ok ? r.value : NaN;
  };
  assertEquals(ms("90s"), 90_000);
  assertEquals(ms("30m"), 1_800_000);
  assertEquals(ms("8h"), 28_800_000);
  assertEquals(ms("1h30m"), 5_400_000);
  assertEquals(ms("250ms"), 250);
  assertEquals(ms("90d"), 7_776_000_000);
  for (const bad of ["", "8", "h", "-1s", "0s", "0", "1x"]) {
    assert(!parseDuration(bad).ok, bad);
  }
});

Deno.test("empty variables count as unset", () => {
  const r = resolve(["schedulerHost", "extraPublishUrls"], {
    SCHEDULER_HOST: "",
    EXTRA_PUBLISH_URLS: " ",
  });
  assert(r.ok);
  assertEquals(r.config, {
    schedulerHost: "seldon-scheduler",
    extraPublishUrls: [],
  });
});

Deno.test("the state directory default follows XDG_STATE_HOME, else HOME", () => {
  const xdg = resolve(["stateDir"], {
    XDG_STATE_HOME: "/x/state",
    HOME: "/home/u",
  });
  assert(xdg.ok);
  assertEquals(xdg.config.stateDir, "/x/state/hodometer");
  const home = resolve(["stateDir"], { HOME: "/home/u" });
  assert(home.ok);
  assertEquals(home.config.stateDir, "/home/u/.local/state/hodometer");
});

Deno.test("receiver connection settings: HEADER_TIMEOUT, IDLE_TIMEOUT and MAX_CONNECTIONS, their defaults and ranges", () => {
  const keys = ["headerTimeoutMs", "idleTimeoutMs", "maxConnections"] as const;
  const defaults = resolve([...keys], {});
  assert(defaults.ok);
  assertEquals(defaults.config, {
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 5_000,
    maxConnections: 256,
  });
  const set = resolve([...keys], {
    HEADER_TIMEOUT: "2s",
    IDLE_TIMEOUT: "1m",
    MAX_CONNECTIONS: "1000",
  });
  assert(set.ok);
  assertEquals(set.config, {
    headerTimeoutMs: 2_000,
    idleTimeoutMs: 60_000,
    maxConnections: 1000,
  });
  const bad = resolve([...keys], {
    HEADER_TIMEOUT: "0",
    IDLE_TIMEOUT: "2h",
    MAX_CONNECTIONS: "0",
  });
  assert(!bad.ok);
  assertEquals(bad.errors.length, 3, bad.errors.join("\n"));
  assertMatch(nth(bad.errors, 0), /^HEADER_TIMEOUT="0" .*from 100ms to 10m/);
  assertMatch(nth(bad.errors, 1), /^IDLE_TIMEOUT="2h" .*at most 1h/);
  assertMatch(nth(bad.errors, 2), /^MAX_CONNECTIONS="0" /);
});

Deno.test("receiver settings: ranges, token lists, and a secret never shown in an error", () => {
  const r = resolve(
    [
      "bodyTimeoutMs",
      "gracePeriodMs",
      "maxBodyBytes",
      "acceptedTokens",
      "readToken",
    ],
    {
      BODY_TIMEOUT: "50ms",
      GRACE_PERIOD: "11m",
      MAX_BODY_BYTES: "100",
      ACCEPTED_TOKENS: "ok, has space",
    },
    { readToken: " " },
  );
  assert(!r.ok);
  assertEquals(r.errors.length, 5, r.errors.join("\n"));
  assertMatch(nth(r.errors, 0), /^BODY_TIMEOUT="50ms" .*from 100ms to 10m/);
  assertMatch(nth(r.errors, 1), /^GRACE_PERIOD="11m" .*at most 10m/);
  assertMatch(nth(r.errors, 2), /^MAX_BODY_BYTES="100" /);
  assertMatch(nth(r.errors, 3), /^ACCEPTED_TOKENS=.*visible ASCII/);
  assertEquals(
    r.errors[4],
    "READ_TOKEN=(hidden) (given as --read-token) is not valid: expected a non-empty string",
  );
  const good = resolve(["acceptedTokens", "readToken", "bodyTimeoutMs"], {
    ACCEPTED_TOKENS: " a1 ,, b2 ",
    READ_TOKEN: "s3cret",
  });
  assert(good.ok);
  assertEquals(good.config, {
    acceptedTokens: ["a1", "b2"],
    readToken: "s3cret",
    bodyTimeoutMs: 10_000,
  });
});
