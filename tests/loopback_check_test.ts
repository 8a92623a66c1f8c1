// The loopback check (scripts/loopback_check.ts) reads `strace -f` output
// right: lines captured from real traces (glibc's lookup of a name, Chromium's
// IPv6 probe, processes and threads) give the findings they must, and
// loopback traffic gives none. Where this file is not itself traced (ptrace
// does not nest: under the check, the check's own canary proves the same
// thing before every run), the check runs for real on small commands.

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import { describeCommand, TraceAudit } from "../scripts/loopback/audit.ts";
import { dnsQuestions } from "../scripts/loopback/dns_question.ts";
import {
  inetAddresses,
  isLoopback,
  parseTraceLine,
  readStraceString,
  type TraceLine,
} from "../scripts/loopback/trace_line.ts";
import { denoCommand } from "../scripts/runtime_env.ts";
import dgram from "node:dgram";

const DENO = "/usr/bin/deno";
const exec = (pid: number, argv: string[]) =>
  `${pid} execve("${nth(argv, 0)}", [${
    argv.map((a) => JSON.stringify(a)).join(", ")
  }], 0x7ffd4 /* 3 vars */) = 0`;

/** glibc looking up hodometer-test.invalid (A and AAAA in one sendmmsg), as traced. */
const GLIBC_LOOKUP = [
  "16553 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 35",
  '16553 connect(35, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)',
  '16553 connect(35, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0',
  '16553 sendmmsg(35, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\x79\\x41\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x0e\\x68\\x6f\\x64\\x6f\\x6d\\x65\\x74\\x65\\x72\\x2d\\x74\\x65\\x73\\x74\\x07\\x69\\x6e\\x76\\x61\\x6c\\x69\\x64\\x00\\x00\\x01\\x00\\x01", iov_len=40}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=40}, {msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\x7f\\x42\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x0e\\x68\\x6f\\x64\\x6f\\x6d\\x65\\x74\\x65\\x72\\x2d\\x74\\x65\\x73\\x74\\x07\\x69\\x6e\\x76\\x61\\x6c\\x69\\x64\\x00\\x00\\x1c\\x00\\x01", iov_len=40}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=40}], 2, MSG_NOSIGNAL) = 2',
];

/** Chromium asking whether IPv6 is routed: a UDP socket connected, nothing sent. */
const IPV6_PROBE = [
  "31619 socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP) = 3",
  '31619 connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), sin6_scope_id=0}, 28) = 0',
];

function audit(lines: string[]): TraceAudit {
  const a = new TraceAudit();
  lines.forEach((l) => a.add(l));
  return a;
}

Deno.test("loopback check: strace's strings decode (hex, octal, C escapes, quotes)", () => {
  const text = String.raw`"a\x00\x7f\"\\\n\t\1\377b"...`;
  const { bytes, end } = readStraceString(text, 0);
  assertEquals(
    [...bytes],
    [97, 0, 127, 34, 92, 10, 9, 1, 255, 98],
  );
  assertEquals(text.slice(end), "...");
});

Deno.test("loopback check: a line gives its process, call, strings, addresses and result; a string never poses as an address", () => {
  const line = parseTraceLine(nth(GLIBC_LOOKUP, 2)) as TraceLine;
  assertEquals([line.pid, line.syscall, line.resumed, line.result], [
    16553,
    "connect",
    false,
    0,
  ]);
  assertEquals(inetAddresses(line), [{ address: "10.255.255.53", port: 53 }]);
  const v6 = parseTraceLine(nth(IPV6_PROBE, 1)) as TraceLine;
  assertEquals(inetAddresses(v6), [
    { address: "2001:4860:4860::8888", port: 443 },
  ]);
  // A payload that spells an address is data, not a destination.
  const spoof = parseTraceLine(
    '7 sendto(3, "sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr(\\"1.2.3.4\\")", 60, 0, NULL, 0) = 60',
  ) as TraceLine;
  assertEquals(inetAddresses(spoof), []);
  assertEquals(
    parseTraceLine("30293 <... clone3 resumed>)             = 30298"),
    {
      pid: 30293,
      syscall: "clone3",
      resumed: true,
      skeleton: ")             = 30298",
      strings: [],
      result: 30298,
    },
  );
  assertEquals(parseTraceLine("12 +++ exited with 0 +++"), {
    pid: 12,
    exit: "exited with 0",
  });
  assertEquals(
    parseTraceLine("12 --- SIGCHLD {si_signo=SIGCHLD} ---"),
    undefined,
  );
});

Deno.test("loopback check: loopback is 127.0.0.0/8 and ::1, nothing else", () => {
  for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) {
    assert(isLoopback(a), a);
  }
  for (
    const a of [
      "10.0.0.1",
      "0.0.0.0",
      "::",
      "2001:4860:4860::8888",
      "128.0.0.1",
      "::ffff:10.0.0.1",
    ]
  ) {
    assert(!isLoopback(a), a);
  }
});

Deno.test("loopback check: a DNS query's questions are read from its bytes", () => {
  const query = (name: string, type: number, flags = 0x01) =>
    new Uint8Array([
      0x12,
      0x34,
      flags,
      0x00,
      0x00,
      0x01,
      0,
      0,
      0,
      0,
      0,
      0,
      ...name.split(".").flatMap((
        l,
      ) => [l.length, ...new TextEncoder().encode(l)]),
      0,
      0,
      type,
      0,
      1,
    ]);
  assertEquals(dnsQuestions(query("dl.deno.land", 1)), [
    { name: "dl.deno.land", type: "A" },
  ]);
  assertEquals(dnsQuestions(query("x.invalid", 65)), [
    { name: "x.invalid", type: "HTTPS" },
  ]);
  // An answer (QR set) is not a query; nor is anything too short.
  assertEquals(dnsQuestions(query("x.invalid", 1, 0x81)), undefined);
  assertEquals(dnsQuestions(new Uint8Array(5)), undefined);
  // Cut short by the trace: the name so far.
  assertEquals(
    dnsQuestions(query("update.googleapis.com", 1).subarray(0, 20)),
    [
      { name: "update…", type: "?" },
    ],
  );
});

Deno.test("loopback check: glibc's lookup is a DNS query for the name, by the command that asked, even on a thread", () => {
  const lookup = GLIBC_LOOKUP.map((l) => l.replace(/^16553/, "16560"));
  const a = audit([
    exec(16553, [DENO, "test", "--no-prompt", "tests/fault_publish_test.ts"]),
    // A thread of it (flags on the line that starts the call, the new id on
    // the line that ends it) looks the name up.
    "16553 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0}, 88 <unfinished ...>",
    "16554 futex(0x1, FUTEX_WAKE, 1) = 0",
    "16553 <... clone3 resumed> => {parent_tid=[16560]}, 88) = 16560",
    ...lookup,
  ]);
  assertEquals(a.findings(), [{
    what: "DNS query for hodometer-test.invalid (A, AAAA) to 10.255.255.53:53",
    command: "deno test tests/fault_publish_test.ts (1 options)",
    count: 2,
  }]);
});

Deno.test("loopback check: anything to port 53 is DNS, loopback resolvers included", () => {
  const a = audit([
    exec(9, [DENO, "eval", "x"]),
    '9 connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0',
    '9 sendto(6, "\\x00\\x01\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x02dl\\x04deno\\x04land\\x00\\x00\\x01\\x00\\x01", 30, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}, 16) = 30',
  ]);
  assertEquals(a.findings().map((f) => f.what), [
    "DNS query for (no query seen) to 127.0.0.53:53",
    "DNS query for dl.deno.land (A) to 127.0.0.1:53",
  ]);
});

Deno.test("loopback check: a TCP connection or a datagram beyond loopback is found; a connected UDP socket that sends nothing is not", () => {
  const a = audit([
    exec(31619, ["/usr/bin/chromium", "--headless", "about:blank"]),
    ...IPV6_PROBE,
    "31619 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4",
    '31619 connect(4, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("142.250.1.1")}, 16) = -1 EINPROGRESS (Operation now in progress)',
    '31619 connect(7, {sa_family=AF_INET, sin_port=htons(8001), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
    "31619 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 8",
    '31619 connect(8, {sa_family=AF_INET, sin_port=htons(123), sin_addr=inet_addr("10.0.0.9")}, 16) = 0',
    '31619 sendto(8, "\\x1b", 1, 0, NULL, 0) = 1',
    '31619 sendmsg(9, {msg_name={sa_family=AF_INET6, sin6_port=htons(5353), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "ff02::fb", &sin6_addr), sin6_scope_id=0}, msg_namelen=28, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1',
  ]);
  assertEquals(a.findings(), [
    {
      what: "connection to 142.250.1.1:443",
      command: "chromium about:blank (1 options)",
      count: 1,
    },
    {
      what: "datagram to 10.0.0.9:123",
      command: "chromium about:blank (1 options)",
      count: 1,
    },
    {
      what: "datagram to [ff02::fb]:5353",
      command: "chromium about:blank (1 options)",
      count: 1,
    },
  ]);
  assertEquals(a.inetCalls, 5);
});

Deno.test("loopback check: commands are named by their program and words, Chromium's helpers by Chromium", () => {
  assertEquals(
    describeCommand([DENO, "run", "--allow-net", "/srv/serve.ts", "receive"]),
    "deno run /srv/serve.ts receive (1 options)",
  );
  const a = audit([
    exec(1, ["/usr/bin/chromium", "--headless"]),
    "1 clone(child_stack=NULL, flags=CLONE_NEWPID|SIGCHLD) = 2",
    exec(2, ["/proc/self/exe", "--type=utility"]),
    '2 connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.1.1.1")}, 16) = 0',
  ]);
  assertEquals(nth(a.findings(), 0).command, "chromium (1 options)");
});

Deno.test("loopback check: processes that have not ended are known, threads aside", () => {
  const a = audit([
    exec(1, [DENO, "test"]),
    "1 clone3({flags=CLONE_VM|CLONE_THREAD}, 88) = 2",
    "1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD}, 88) = 3",
    exec(3, ["/usr/bin/prometheus"]),
    "1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD}, 88) = 4",
    "4 +++ exited with 0 +++",
  ]);
  assertEquals(a.main, 1);
  assertEquals(a.running(), [
    { pid: 1, command: "deno test" },
    { pid: 3, command: "prometheus" },
  ]);
});

/** Why the check cannot run for real here, or null. */
function notTraceable(): string | null {
  const status = Deno.readTextFileSync("/proc/self/status");
  if (!/^TracerPid:\s+0$/m.test(status)) {
    return "this test process is itself traced (the suite runs under the loopback check, whose canary proves the same before every run)";
  }
  try {
    new Deno.Command("strace", { args: ["-V"], stdout: "null" }).outputSync();
    return null;
  } catch {
    return "strace is not installed (apt-get install strace)";
  }
}

const why = notTraceable();
if (why) console.log(`loopback_check_test: SKIPPED the live checks: ${why}`);

const HELD = "127.0.0.254";

/** A DNS query for an A record of `name`. */
function dnsQuery(name: string): number[] {
  return [
    0x12,
    0x34,
    0x01,
    0x00,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    0,
    0,
    ...name.split(".").flatMap((
      l,
    ) => [l.length, ...new TextEncoder().encode(l)]),
    0,
    0,
    1,
    0,
    1,
  ];
}

/** UDP port 53 of HELD, bound by this test (counting what arrives), or why not. */
async function holdPort53(): Promise<
  { received: Promise<number>; close(): void } | string
> {
  const socket = dgram.createSocket("udp4");
  let count = 0;
  let arrived: (n: number) => void = () => {};
  const received = new Promise<number>((r) => arrived = r);
  socket.on("message", () => arrived(++count));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(53, HELD, () => resolve());
    });
  } catch (e) {
    socket.close();
    return `cannot bind ${HELD}:53 (${e instanceof Error ? e.message : e})`;
  }
  return { received, close: () => socket.close() };
}

async function check(command: string[]) {
  const out = await denoCommand({
    args: [
      "run",
      "--allow-run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("../scripts/loopback_check.ts", import.meta.url).pathname,
      ...command,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name:
    "loopback check, for real: a command on loopback passes, one that looks a name up fails naming it",
  ignore: why !== null,
  fn: async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("ok"),
    );
    try {
      const clean = await check([
        "deno",
        "eval",
        `await (await fetch("http://127.0.0.1:${server.addr.port}/")).text()`,
      ]);
      assertEquals(clean.code, 0, clean.stderr);
      assertMatch(
        clean.stderr,
        /loopback check: passed: no connection, datagram or DNS query beyond loopback \([1-9]\d* calls/,
      );
    } finally {
      await server.shutdown();
    }
    // A DNS query to port 53 of a loopback address this test holds itself
    // (so no resolver can receive it and pass it on): it never leaves the
    // machine, and it is still a DNS query.
    const held = await holdPort53();
    if (typeof held === "string") {
      console.log(`loopback_check_test: the DNS part skipped: ${held}`);
      return;
    }
    try {
      const asked = await check([
        "deno",
        "eval",
        `import dgram from "node:dgram"; const s = dgram.createSocket("udp4"); s.send(new Uint8Array(${
          JSON.stringify(dnsQuery("loopback-check.invalid"))
        }), 53, "${HELD}", () => s.close());`,
      ]);
      assertEquals(asked.code, 1, asked.stderr);
      assertMatch(
        asked.stderr,
        /1 × DNS query for loopback-check\.invalid \(A\) to 127\.0\.0\.254:53, by: deno eval/,
      );
      assertEquals(await held.received, 1);
    } finally {
      held.close();
    }
  },
});
