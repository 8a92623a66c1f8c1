// Health that tells the truth: while the store cannot write, /healthz is 503
// with the reason, failures are logged once and then once per interval with a
// count, and a write or a probe that succeeds makes it ok again. Pure logic on
// a clock of our own, the app with a store that fails on demand, and the
// receiver as shipped on a file system that really fills up.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  createMemoryStore,
  type EventStore,
  StoreBusyError,
  StoreHealth,
} from "../src/receive/store/mod.ts";
import { createReceiver } from "../src/receive/receiver.ts";
import { logger } from "../src/log/setup.ts";
import { call } from "./fixtures/receiver_call.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { sampleEvent } from "./receive_sample.ts";

Deno.test("StoreHealth: the first failure is said at once, then one line per interval with the count, then the recovery", () => {
  let now = 0;
  const health = new StoreHealth({
    now: () => now,
    logEveryMs: 10_000,
    probeEveryMs: 5_000,
  });
  assertEquals(health.status(), { ok: true });
  assertEquals(health.succeeded(), null, "nothing to say when it never failed");
  assertMatch(health.failed("disk full")!, /cannot write: disk full/);
  const lines: string[] = [];
  for (let i = 1; i <= 2700; i++) {
    now = i * 10; // 270 failed writes a second for 27 s
    const line = health.failed("disk full");
    if (line !== null) lines.push(line);
  }
  assertEquals(lines.length, 2, lines.join("\n"));
  assertMatch(lines[0]!, /1000 more failed write\(s\) in the last 10 s/);
  assertMatch(
    lines[1]!,
    /1000 more failed write\(s\) in the last 10 s \(2001 since/,
  );
  const status = health.status();
  assert(!status.ok);
  assertEquals(status.reason, "the event store cannot write: disk full");
  assertEquals(status.failures, 2701);
  assertMatch(
    health.succeeded()!,
    /writes again, after 2701 failed write\(s\) over 27 s/,
  );
  assertEquals(health.status(), { ok: true });
});

Deno.test("StoreHealth: a probe is due only while failing, once per interval", () => {
  let now = 0;
  const health = new StoreHealth({ now: () => now, probeEveryMs: 5_000 });
  assertEquals(health.probeDue(), false);
  health.failed("read-only file system");
  now = 4_999;
  assertEquals(health.probeDue(), false);
  now = 5_000;
  assertEquals(health.probeDue(), true);
  assertEquals(health.probeDue(), false, "marked tried");
  now = 10_000;
  assertEquals(health.probeDue(), true);
});

/** A store in memory whose writes and probes fail while `failing` is set. */
function failingStore() {
  const inner = createMemoryStore({ recordLevel: "summary", maxEvents: 100 });
  const control = { failing: false, busy: false };
  const store: EventStore = Object.assign(Object.create(inner), {
    add: (events: Parameters<EventStore["add"]>[0]) => {
      if (control.busy) throw new StoreBusyError("10 events");
      if (control.failing) throw new Error("database or disk is full");
      return inner.add(events);
    },
  });
  const probe = () => control.failing ? "database or disk is full" : null;
  return { store, probe, control };
}

Deno.test("/healthz is 503 with the reason while the store cannot write, and ok again once a probe write succeeds", async () => {
  let now = 1_000_000;
  const { store, probe, control } = failingStore();
  const r = createReceiver({
    store,
    recordLevel: "summary",
    logger: logger("receive", "test"),
    now: () => now,
    probeStore: probe,
  });
  const post = () =>
    call(r.app, "/track", {
      method: "POST",
      body: JSON.stringify(sampleEvent(1)),
    });
  const health = async () => {
    const res = await call(r.app, "/healthz");
    return { status: res.status, body: await res.json() };
  };
  assertEquals((await health()).status, 200);

  control.busy = true;
  assertEquals((await post()).status, 503);
  assertEquals((await health()).status, 200, "busy is not failing");
  control.busy = false;

  control.failing = true;
  assertEquals((await post()).status, 503);
  const failing = await health();
  assertEquals(failing.status, 503);
  assertEquals(failing.body.status, "failing");
  assertEquals(
    failing.body.reason,
    "the event store cannot write: database or disk is full",
  );
  assertEquals(failing.body.failedWrites, 1);

  control.failing = false; // the disk was freed; nobody writes
  assertEquals((await health()).status, 503, "no probe is due yet");
  now += 5_000;
  assertEquals((await health()).status, 200, "the probe found it writable");
  assertEquals((await post()).status, 200);
});

const isRoot = Deno.build.os === "linux" && Deno.uid() === 0;

async function run(cmd: string, ...args: string[]) {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

Deno.test({
  name:
    "as shipped, on a file system that fills up: 503 and /healthz not ok, failures logged once per interval, ok again once there is room",
  // Mounting a small tmpfs needs root (as on our machines and in CI).
  ignore: !isRoot,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "hodometer-full-" });
    await run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir);
    const receiver = await startReceiverProcess({
      args: ["--record-level", "all", "--store", `${dir}/events.db`],
    });
    try {
      const post = async (i: number) => {
        const res = await fetch(`${receiver.url}/track`, {
          method: "POST",
          body: JSON.stringify(sampleEvent(i, { pad: "x".repeat(4000) })),
        });
        await res.body?.cancel();
        return res.status;
      };
      assertEquals(await post(0), 200);
      // Fill what is left of the file system.
      await run("dd", "if=/dev/zero", `of=${dir}/filler`, "bs=64k").catch(
        () => {},
      );
      const statuses: number[] = [];
      for (let i = 1; i <= 200; i++) statuses.push(await post(i));
      assert(statuses.filter((s) => s === 503).length >= 190, `${statuses}`);
      const res = await fetch(`${receiver.url}/healthz`);
      assertEquals(res.status, 503);
      assertMatch((await res.json()).reason, /cannot write/);
      const logged = receiver.stderr().split("\n").filter((l) =>
        /event store (cannot|still cannot) write/.test(l)
      );
      assert(logged.length <= 2, logged.join("\n"));

      await Deno.remove(`${dir}/filler`);
      // Nobody writes: the next probe (every 5 s while failing) finds room.
      let ok = false;
      for (let i = 0; i < 40 && !ok; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const h = await fetch(`${receiver.url}/healthz`);
        await h.body?.cancel();
        ok = h.status === 200;
      }
      assert(ok, "/healthz did not recover");
      assertEquals(await post(1000), 200);
      await receiver.waitForLog(/event store writes again/);
    } finally {
      await receiver.stop();
      await run("umount", dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
