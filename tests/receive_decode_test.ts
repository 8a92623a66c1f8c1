// The receiver's pure decoding and validation (SPEC §7), without sockets.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  decodeBase64,
  decodeTrackRequest,
  exceedsDepth,
  MAX_BATCH,
  NO_EVENT,
  type TrackInput,
  UNINTERPRETABLE,
  validateEvent,
} from "../src/receive/decode.ts";
import { encodeEventData } from "../src/publish/event.ts";
import { REFERENCE_DATA, sampleEvent, utf8 } from "./receive_sample.ts";

const EMPTY = new Uint8Array(0);
const input = (over: Partial<TrackInput>): TrackInput => ({
  data: null,
  body: EMPTY,
  contentType: null,
  ...over,
});

function rejected(over: Partial<TrackInput>) {
  const r = decodeTrackRequest(input(over));
  if (r.ok) throw new Error(`expected a rejection, got ${r.events.length}`);
  return r.rejection;
}

function accepted(over: Partial<TrackInput>) {
  const r = decodeTrackRequest(input(over));
  if (!r.ok) throw new Error(`expected events, got: ${r.rejection.message}`);
  return r.events;
}

/** A URL's query decoding, as the server applies it to `data`. */
const viaQuery = (raw: string) =>
  new URLSearchParams(`data=${raw}`).get("data")!;

Deno.test("the reference publisher's exact data value decodes to its event", () => {
  const [event] = accepted({ data: viaQuery(REFERENCE_DATA) });
  assertEquals(event.event, "collect metrics");
  assertEquals(event.properties.distinct_id, event.properties.cluster_id);
  assertEquals(event.properties.$insert_id, "1795544503881249561");
  assertEquals(event.properties.time, 1795544503);
  assertEquals(event.properties.kubernetes_version, "");
  assertEquals(Object.keys(event.properties).length, 20);
});

Deno.test("data in the standard or URL-safe alphabet, padded or not, with + turned into space", () => {
  const sent = sampleEvent(7, { note: "~~~>>>???" });
  const standard = encodeEventData(sent);
  assert(standard.includes("+") && standard.includes("/"), standard);
  assert(standard.endsWith("="));
  const urlSafe = standard.replaceAll("+", "-").replaceAll("/", "_");
  const variants = {
    standard,
    unpadded: standard.replace(/=+$/, ""),
    urlSafe,
    urlSafeUnpadded: urlSafe.replace(/=+$/, ""),
    // An unescaped + in a query string arrives as a space.
    plusAsSpace: viaQuery(standard),
    percentEncoded: viaQuery(encodeURIComponent(standard)),
  };
  assert(variants.plusAsSpace.includes(" "));
  for (const [name, data] of Object.entries(variants)) {
    const events = accepted({ data });
    assertEquals(events, [sent], name);
  }
});

Deno.test("a JSON body, a form body and plain JSON in data all give the event", () => {
  const sent = sampleEvent(1);
  const json = JSON.stringify(sent);
  assertEquals(accepted({ body: utf8(json) }), [sent]);
  assertEquals(
    accepted({ body: utf8(json), contentType: "application/json" }),
    [sent],
  );
  const form = new URLSearchParams({ data: encodeEventData(sent) }).toString();
  assertEquals(
    accepted({
      body: utf8(form),
      contentType: "application/x-www-form-urlencoded; charset=utf-8",
    }),
    [sent],
  );
  assertEquals(accepted({ body: utf8(form) }), [sent], "form without type");
  // A form's + left unescaped by a careless client.
  assertEquals(
    accepted({
      body: utf8(`data=${encodeEventData(sampleEvent(2, { note: "??>>~~" }))}`),
      contentType: "application/x-www-form-urlencoded",
    }),
    [sampleEvent(2, { note: "??>>~~" })],
  );
  assertEquals(accepted({ data: json }), [sent]);
});

Deno.test("data wins over the body, as in the reference", () => {
  const events = accepted({
    data: encodeEventData(sampleEvent(1)),
    body: utf8("not json at all"),
  });
  assertEquals(events, [sampleEvent(1)]);
});

Deno.test("no event: no data and an empty body, or a form without data", () => {
  for (
    const over of [
      {},
      { body: utf8("  \n") },
      { body: utf8("[]") },
      {
        body: utf8("other=1"),
        contentType: "application/x-www-form-urlencoded",
      },
    ]
  ) {
    const r = rejected(over);
    assertEquals(r.message, NO_EVENT);
    assertEquals(r.status, 400);
    assertEquals(r.kind, "no_event");
  }
});

function invalidDetail(over: Partial<TrackInput>): string {
  const r = rejected(over);
  assertEquals(r.status, 400);
  assertEquals(r.kind, "invalid_event");
  assert(r.message.startsWith(`${UNINTERPRETABLE}: `), r.message);
  return r.message.slice(UNINTERPRETABLE.length + 2);
}

Deno.test("undecodable data names what was wrong", () => {
  assertMatch(
    invalidDetail({ data: "not*base64!" }),
    /data parameter is not valid base64/,
  );
  assertMatch(invalidDetail({ data: "abcde" }), /not valid base64/);
  assertMatch(invalidDetail({ data: "" }), /data parameter is empty/);
  // "//79" is the bytes ff fe fd: not UTF-8.
  assertMatch(invalidDetail({ data: "//79" }), /not valid UTF-8/);
  assertMatch(
    invalidDetail({ data: btoa('{"event": "foo",') }),
    /data parameter is not valid JSON/,
  );
  assertMatch(
    invalidDetail({ body: utf8('{"event": "foo",') }),
    /body is not valid JSON/,
  );
  assertMatch(
    invalidDetail({ body: new Uint8Array([0xff, 0x00, 0xc3]) }),
    /body is not valid UTF-8/,
  );
});

Deno.test("validation names every missing required field, in order", () => {
  assertEquals(
    invalidDetail({ data: btoa('{"event": "foo"}') }),
    "required fields not provided: properties",
  );
  assertEquals(
    invalidDetail({ body: utf8('{"event": "foo", "properties": {}}') }),
    "required fields not provided: token, time, distinct_id, $insert_id",
  );
  assertEquals(
    invalidDetail({ body: utf8("{}") }),
    "required fields not provided: event, properties",
  );
  for (const field of ["token", "time", "distinct_id", "$insert_id"]) {
    const event = sampleEvent(1);
    delete event.properties[field];
    assertEquals(
      invalidDetail({ body: utf8(JSON.stringify(event)) }),
      `required fields not provided: ${field}`,
    );
    event.properties[field] = null;
    assertEquals(
      invalidDetail({ body: utf8(JSON.stringify(event)) }),
      `required fields not provided: ${field}`,
      "null counts as not provided",
    );
  }
});

Deno.test("validation names each field of the wrong type", () => {
  const cases: Array<[string, unknown, string]> = [
    ["token", 42, "token must be a string, not number"],
    ["distinct_id", { id: 1 }, "distinct_id must be a string, not object"],
    ["$insert_id", 17, "$insert_id must be a string, not number"],
    ["time", "1795544503", "time must be an integer, not string"],
    ["time", 1.5, "time must be an integer, not a fractional number"],
    ["time", [1], "time must be an integer, not an array"],
  ];
  for (const [field, value, message] of cases) {
    const event = sampleEvent(1, { [field]: value });
    assertEquals(invalidDetail({ body: utf8(JSON.stringify(event)) }), message);
  }
  assertEquals(
    invalidDetail({
      body: utf8(JSON.stringify({ event: "x", properties: [1, 2] })),
    }),
    "properties must be a non-empty JSON object, not an array",
  );
  assertEquals(
    invalidDetail({
      body: utf8(JSON.stringify({ event: "x", properties: "a=b" })),
    }),
    "properties must be a non-empty JSON object, not string",
  );
  assertEquals(
    invalidDetail({ body: utf8("42") }),
    "an event must be a JSON object, not number",
  );
  assertEquals(
    invalidDetail({ body: utf8("null") }),
    "an event must be a JSON object, not null",
  );
});

Deno.test("the event name must be a non-empty string after trimming", () => {
  for (const name of ["", "   ", "\t\n"]) {
    const event = { ...sampleEvent(1), event: name };
    assertEquals(
      invalidDetail({ body: utf8(JSON.stringify(event)) }),
      "event name is empty",
    );
  }
  assertEquals(
    invalidDetail({
      body: utf8(JSON.stringify({ ...sampleEvent(1), event: 5 })),
    }),
    "event must be a string, not number",
  );
  // Several problems at once are all named.
  assertEquals(
    invalidDetail({
      body: utf8(
        JSON.stringify({ event: " ", properties: { time: 1.5, token: "t" } }),
      ),
    }),
    "required fields not provided: distinct_id, $insert_id; " +
      "event name is empty; time must be an integer, not a fractional number",
  );
});

Deno.test("other properties are kept exactly as they came", () => {
  const sent = sampleEvent(3, {
    ip: "0",
    nested: { a: [1, { b: null }], "weird key": "ü" },
    big: 12345678901234,
    flag: false,
  });
  const [got] = accepted({ body: utf8(JSON.stringify(sent)) });
  assertEquals(got, sent);
});

Deno.test("a batch of up to 2000 events is all valid or all refused, naming the index", () => {
  const batch = Array.from({ length: MAX_BATCH }, (_, i) => sampleEvent(i));
  assertEquals(accepted({ body: utf8(JSON.stringify(batch)) }).length, 2000);
  assertEquals(
    accepted({ data: btoa(JSON.stringify(batch.slice(0, 3))) }).length,
    3,
  );

  const tooMany = [...batch, sampleEvent(2000)];
  assertEquals(
    invalidDetail({ body: utf8(JSON.stringify(tooMany)) }),
    "a batch holds at most 2000 events; this one has 2001",
  );

  const broken = batch.slice(0, 5);
  broken[3] = { event: "collect metrics", properties: { token: "t" } };
  assertEquals(
    invalidDetail({ body: utf8(JSON.stringify(broken)) }),
    "event 3 of the batch (counting from 0): required fields not provided: " +
      "time, distinct_id, $insert_id; no event of this batch was recorded",
  );
  assertMatch(
    invalidDetail({ body: utf8(JSON.stringify([sampleEvent(0), "x"])) }),
    /^event 1 of the batch .*an event must be a JSON object, not string/,
  );
});

Deno.test("100000-deep nesting is refused, not a crash", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assertMatch(
    invalidDetail({ body: utf8(deep) }),
    /^event 0 of the batch .*an event must be a JSON object, not an array/,
  );
  const inProperties = JSON.stringify(sampleEvent(1)).replace(
    /}}$/,
    `,"deep":${deep}}}`,
  );
  assertEquals(
    invalidDetail({ body: utf8(inProperties) }),
    "properties are nested deeper than 64 levels",
  );
  const deepObject = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
  assertMatch(
    invalidDetail({ body: utf8(deepObject) }),
    /required fields not provided: event, properties/,
  );
});

Deno.test("random bytes are refused with a reason", () => {
  for (let round = 0; round < 20; round++) {
    const body = crypto.getRandomValues(new Uint8Array(4096));
    const r = rejected({ body });
    assertEquals(r.status, 400);
    assert(r.message.startsWith(UNINTERPRETABLE), r.message);
  }
});

Deno.test("decodeBase64 accepts both alphabets and refuses the rest", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00]);
  for (const text of ["+/+/AA==", "-_-_AA", "+_-/AA=", " /+/AA"]) {
    assertEquals(decodeBase64(text), bytes, text);
  }
  for (const text of ["a", "ab=c", "a===", "ab\ncd", "é"]) {
    assertEquals(decodeBase64(text), null, text);
  }
});

Deno.test("exceedsDepth counts levels without recursion", () => {
  assertEquals(exceedsDepth({ a: { b: 1 } }, 2), false);
  assertEquals(exceedsDepth({ a: { b: {} } }, 2), true);
  assertEquals(exceedsDepth([[[]]], 3), false);
  assertEquals(exceedsDepth("flat", 0), false);
});

Deno.test("validateEvent returns the event as sent", () => {
  const sent = sampleEvent(9);
  const r = validateEvent(structuredClone(sent));
  assert(r.ok);
  assertEquals(r.event, sent);
});
