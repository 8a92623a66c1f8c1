// The connections' deadlines on a clock of our own (connection_watch.ts): a
// new connection has HEADER_TIMEOUT for its first head, a kept-alive one
// IDLE_TIMEOUT for the next, counted from the first sweep after its last
// answer (so never early), one with a request in flight is never closed by
// them, and a shutdown closes the waiting ones first.

import { assertEquals } from "./assert.ts";
import {
  ConnectionWatch,
  LINGER_MS,
} from "../src/receive/serve/connection_watch.ts";

function setup(headerTimeoutMs = 100, idleTimeoutMs = 300) {
  let now = 1_000;
  const watch = new ConnectionWatch(
    { headerTimeoutMs, idleTimeoutMs },
    () => now,
  );
  const closed: string[] = [];
  const open = (name: string) => watch.opened(() => closed.push(name));
  const at = (ms: number) => {
    now = 1_000 + ms;
    watch.sweep();
  };
  return { watch, closed, open, at };
}

Deno.test("a new connection is closed once HEADER_TIMEOUT passes without a request, not before", () => {
  const { watch, closed, open, at } = setup();
  open("silent");
  at(99);
  assertEquals(closed, []);
  at(100);
  assertEquals(closed, ["silent"]);
  assertEquals(watch.size, 0);
  assertEquals(watch.closed, { header_timeout: 1, idle_timeout: 0 });
  at(500);
  assertEquals(closed, ["silent"], "closed once");
});

Deno.test("a request in flight holds its connection open past both deadlines; IDLE_TIMEOUT counts from its answer", () => {
  const { watch, closed, open, at } = setup();
  const busy = open("busy");
  watch.requestStarted(busy);
  at(10_000);
  assertEquals(closed, []);
  watch.answerFinished(busy);
  at(10_050); // the first sweep after the answer starts its wait
  at(10_050 + 299);
  assertEquals(closed, [], "IDLE_TIMEOUT, not HEADER_TIMEOUT, once answered");
  at(10_050 + 300);
  assertEquals(closed, ["busy"]);
  assertEquals(watch.closed, { header_timeout: 0, idle_timeout: 1 });
});

Deno.test("an answer's wait starts at the next sweep, however late: a connection is never closed before IDLE_TIMEOUT", () => {
  const { watch, closed, open, at } = setup();
  const c = open("late sweep");
  watch.requestStarted(c);
  at(0);
  watch.answerFinished(c);
  at(5_000); // no sweep for 5 s: the wait starts now, not at the answer
  assertEquals(closed, []);
  at(5_299);
  assertEquals(closed, []);
  at(5_300);
  assertEquals(closed, ["late sweep"]);
});

Deno.test("two requests in flight on one connection (pipelined): it waits only once both are answered", () => {
  const { watch, closed, open, at } = setup();
  const c = open("pipelined");
  watch.requestStarted(c);
  watch.requestStarted(c);
  watch.answerFinished(c);
  at(5_000);
  assertEquals(closed, []);
  watch.answerFinished(c);
  at(5_000);
  at(5_300);
  assertEquals(closed, ["pipelined"]);
});

Deno.test("an answer that said Connection: close closes its connection LINGER_MS after it finished; not a timeout", () => {
  const { watch, closed, open, at } = setup(60_000, 60_000);
  const c = open("refused");
  watch.requestStarted(c);
  c.closeAfterAnswer = true;
  watch.answerFinished(c);
  at(50);
  at(50 + LINGER_MS - 1);
  assertEquals(closed, [], "its last bytes may still be on their way");
  at(50 + LINGER_MS);
  assertEquals([closed, watch.size], [["refused"], 0]);
  assertEquals(watch.closed, { header_timeout: 0, idle_timeout: 0 });
});

Deno.test("a connection gone by itself is forgotten and never closed again", () => {
  const { watch, closed, open, at } = setup();
  const c = open("gone");
  watch.gone(c);
  at(1_000);
  assertEquals([closed, watch.size], [[], 0]);
});

Deno.test("shutting down: closeWaiting closes connections with nothing in flight (answered ones LINGER_MS after their answer), closeAll the rest", () => {
  const { watch, closed, open, at } = setup(60_000, 60_000);
  open("waiting");
  const busy = open("busy");
  const answered = open("answered");
  watch.requestStarted(busy);
  watch.requestStarted(answered);
  at(10);
  watch.answerFinished(answered);
  watch.closeWaiting(); // starts the answered one's wait
  assertEquals(closed, ["waiting"]);
  at(10 + LINGER_MS);
  watch.closeWaiting();
  assertEquals(closed, ["waiting", "answered"]);
  assertEquals(watch.size, 1);
  watch.closeAll();
  assertEquals(closed, ["waiting", "answered", "busy"]);
  assertEquals(watch.size, 0);
  assertEquals(
    watch.closed,
    { header_timeout: 0, idle_timeout: 0 },
    "not timeouts",
  );
});

Deno.test("the sweep runs often enough to close within an eighth of the shortest deadline or LINGER_MS, at most every 25 ms", () => {
  const every = (headerTimeoutMs: number, idleTimeoutMs: number) =>
    new ConnectionWatch({ headerTimeoutMs, idleTimeoutMs }, () => 0)
      .sweepEveryMs;
  assertEquals(every(10_000, 5_000), Math.floor(LINGER_MS / 8));
  assertEquals(every(100, 3_600_000), 25);
  assertEquals(every(200, 400), 25);
});

Deno.test("past the cap, the connection waiting longest for a request makes room; never one with a request in flight", () => {
  const { watch, closed, open, at } = setup(10_000, 10_000);
  const first = open("first");
  at(10);
  const second = open("second");
  at(20);
  const busy = open("busy");
  watch.requestStarted(busy);
  const answered = open("answered");
  watch.requestStarted(answered);
  watch.answerFinished(answered); // waits from the next sweep: least of all
  assertEquals(watch.evictWaiting(), true);
  assertEquals(closed, ["first"]);
  assertEquals(watch.evictWaiting(), true);
  assertEquals(closed, ["first", "second"]);
  assertEquals(watch.evictWaiting(), true);
  assertEquals(closed, ["first", "second", "answered"]);
  assertEquals(watch.evictWaiting(), false, "the busy one stays");
  assertEquals(watch.size, 1);
  assertEquals(watch.evicted, 3);
  assertEquals(watch.closed, { header_timeout: 0, idle_timeout: 0 });
  void first;
  void second;
});
