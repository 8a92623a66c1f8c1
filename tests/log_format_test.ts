// Log lines as written: JSON lines carry the message as it reads in text logs
// (strings without quotes), the values also as properties.

import { assertEquals, assertMatch, nth } from "./assert.ts";
import { logger, setupLogging } from "../src/log/setup.ts";

function capture(format: "text" | "json", log: () => void): string[] {
  const lines: string[] = [];
  setupLogging({ level: "debug", format, write: (l) => lines.push(l) });
  try {
    log();
  } finally {
    setupLogging({ level: "fatal", format: "text", write: () => {} });
  }
  return lines;
}

Deno.test("JSON logs: the message without an extra pair of quotes, values as properties", () => {
  const line = nth(
    capture("json", () =>
      logger("collect").warn("{failure}", {
        failure: 'scheduler status: UNAVAILABLE "x" {y}',
      })),
    0,
  );
  assertMatch(line, /\n$/);
  const json = JSON.parse(line);
  assertEquals(json.message, 'scheduler status: UNAVAILABLE "x" {y}');
  assertEquals(json.level, "WARN");
  assertEquals(json.logger, "hodometer.collect");
  assertEquals(json.properties, {
    failure: 'scheduler status: UNAVAILABLE "x" {y}',
  });
  assertMatch(json["@timestamp"], /^\d{4}-\d\d-\d\dT/);
});

Deno.test("JSON logs: objects in a message as JSON; numbers, errors and bigints as their text", () => {
  const line = nth(
    capture(
      "json",
      () =>
        logger("run").info("cycle {n}: {what} {error} {big}", {
          n: 3,
          what: { a: [1, "b"] },
          error: new Error("boom"),
          big: 12n,
        }),
    ),
    0,
  );
  const json = JSON.parse(line);
  assertEquals(json.message, 'cycle 3: {"a":[1,"b"]} boom 12');
  assertEquals(json.properties.error, "boom");
  assertEquals(json.properties.big, "12");
});

Deno.test("text logs: strings unquoted, as before", () => {
  const line = nth(
    capture(
      "text",
      () => logger("collect").warn("{failure}", { failure: "scheduler: down" }),
    ),
    0,
  );
  assertMatch(line, /\[WRN\] hodometer·collect: scheduler: down\n$/);
});
