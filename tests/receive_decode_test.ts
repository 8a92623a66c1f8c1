// The receiver's pure decoding and validation, without sockets: the `data`
// parameter, JSON, form and NDJSON bodies, Mixpanel's field rules and the
// limits checked before parsing.

import { assert, assertEquals, assertMatch, nth } from "./assert.ts";
import {
  type Checked,
  decodeEvents,
  excerpt,
  type TrackInput,
  validateEvent,
} from "../src/receive/ingest/decode.ts";
import {
  EVENT_LIMITS,
  NO_EVENT,
  UNINTERPRETABLE,
} from "../src/receive/event/mod.ts";
import { decodeFormBase64 } from "../src/net/base64.ts";
import {
  checkParsedEvent,
  scanEvents,
} from "../src/receive/ingest/json_scan.ts";
import { queryParam } from "../src/receive/ingest/query.ts";
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

/** As the receiver does without strict=1: one invalid event refuses the request. */
function decodeTrackRequest(i: TrackInput) {
  const r = decodeEvents(i);
  if (!r.ok) return r;
  const bad = r.events.findIndex((c) => !c.ok);
  if (bad < 0) {
    return {
      ok: true as const,
      events: r.events.map((c) => (c as Extract<Checked, { ok: true }>).event),
    };
  }
  const problems = (r.events[bad] as Extract<Checked, { ok: false }>).problems
    .map((p) => p.message).join("; ");
  return {
    ok: false as const,
    rejection: {
      status: 400,
      kind: "invalid_event",
      message: `${UNINTERPRETABLE}: ${
        r.events.length === 1
          ? problems
          : `event ${bad} of the batch (counting from 0): ${problems}; no event of this batch was recorded`
      }`,
    },
  };
}

/** The events as sent ({event, properties}). */
function accepted(over: Partial<TrackInput>) {
  const r = decodeTrackRequest(input(over));
  if (!r.ok) throw new Error(`expected events, got: ${r.rejection.message}`);
  return r.events.map((e) => ({ event: e.event, properties: e.properties }));
}

/** A URL's query decoding, as the server applies it to `data`. */
const viaQuery = (raw: string) =>
  new URLSearchParams(`data=${raw}`).get("data")!;

Deno.test("the reference publisher's exact data value decodes to its event", () => {
  const event = nth(accepted({ data: viaQuery(REFERENCE_DATA) }), 0);
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

Deno.test("a raw JSON body under a form's content type is JSON, as Go's receiver reads it (curl -d)", () => {
  const form = "application/x-www-form-urlencoded";
  const sent = sampleEvent(1);
  const json = JSON.stringify(sent);
  assertEquals(accepted({ body: utf8(json), contentType: form }), [sent]);
  assertEquals(
    accepted({ body: utf8(`\n ${json}`), contentType: form }),
    [sent],
    "white space before it",
  );
  assertEquals(
    accepted({ body: utf8(JSON.stringify([sent])), contentType: form }),
    [sent],
    "a batch",
  );
  const two = `${json}\n${JSON.stringify(sampleEvent(2))}`;
  assertEquals(
    accepted({ body: utf8(two), contentType: form }),
    [sent, sampleEvent(2)],
    "NDJSON",
  );
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
    "required fields not provided: token, distinct_id",
  );
  assertEquals(
    invalidDetail({ body: utf8("{}") }),
    "required fields not provided: event, properties",
  );
  for (const field of ["token", "distinct_id"]) {
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

const INSERT_ID_RULE =
  "$insert_id must be 1 to 36 characters of letters, digits and -";
const TIME_RULE = "time must be seconds or milliseconds since the epoch";

Deno.test("validation names each field of the wrong type", () => {
  const cases: Array<[string, unknown, string]> = [
    ["token", 42, "token must be a string, not number"],
    ["distinct_id", { id: 1 }, "distinct_id must be a string, not object"],
    ["$insert_id", 17, INSERT_ID_RULE],
    ["$insert_id", "a".repeat(37), INSERT_ID_RULE],
    ["$insert_id", "has space", INSERT_ID_RULE],
    ["$insert_id", "", INSERT_ID_RULE],
    ["time", "1795544503", `${TIME_RULE}, not string`],
    ["time", -1, `${TIME_RULE}, not number`],
    ["time", [1], `${TIME_RULE}, not an array`],
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
        JSON.stringify({ event: " ", properties: { time: "x", token: "t" } }),
      ),
    }),
    "required fields not provided: distinct_id; " +
      `event name is empty; ${TIME_RULE}, not string`,
  );
});

Deno.test("validateEvent: names longer than the limit, each problem's field, the $insert_id even of an invalid event", () => {
  const long = "n".repeat(EVENT_LIMITS.maxNameChars + 1);
  const problems = (value: unknown) => {
    const checked = validateEvent(value);
    assert(!checked.ok, "refused");
    return checked.problems.map((p) => [p.field, p.message]);
  };
  const max = EVENT_LIMITS.maxNameChars;
  assertEquals(problems({ ...sampleEvent(1), event: long }), [
    ["event", `event name is longer than ${max} characters`],
  ]);
  assertEquals(problems(sampleEvent(1, { token: long, distinct_id: long })), [
    ["properties.token", `token is longer than ${max} characters`],
    ["properties.distinct_id", `distinct_id is longer than ${max} characters`],
  ]);
  assertEquals(problems(sampleEvent(1, { [long]: 1, [`${long}2`]: 2 })), [
    ["properties", `a property name is longer than ${max} characters`],
  ]);
  assertEquals(problems(sampleEvent(1, { time: "x", $insert_id: "a b" })), [
    ["properties.time", `${TIME_RULE}, not string`],
    ["properties.$insert_id", INSERT_ID_RULE],
  ]);
  assertEquals(problems({ event: "x", properties: { token: "t" } }), [
    ["properties.distinct_id", "required fields not provided: distinct_id"],
  ]);
  assertEquals(problems({ properties: { token: "t", distinct_id: "d" } }), [
    ["event", "required fields not provided: event"],
  ]);
  const bad = validateEvent(sampleEvent(1, { distinct_id: 5 }));
  assertEquals(bad.ok ? null : bad.insertId, "insert-1");
  // The same name at the limit is fine.
  const atLimit = "n".repeat(max);
  assert(validateEvent({ ...sampleEvent(1), event: atLimit }).ok);
});

Deno.test("validateEvent: a missing token is filled in from the fallback (/import's credentials), a present one kept", () => {
  const event = sampleEvent(1);
  delete event.properties.token;
  const filled = validateEvent(structuredClone(event), EVENT_LIMITS, "fb");
  assert(filled.ok);
  assertEquals([filled.event.token, filled.event.properties.token], [
    "fb",
    "fb",
  ]);
  const kept = validateEvent(sampleEvent(1), EVENT_LIMITS, "fb");
  assert(kept.ok);
  assertEquals(kept.event.token, sampleEvent(1).properties.token);
  assertEquals(
    validateEvent(event, EVENT_LIMITS, "").ok,
    false,
    "an empty fallback is none",
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
  const batch = Array.from(
    { length: EVENT_LIMITS.maxBatch },
    (_, i) => sampleEvent(i),
  );
  assertEquals(accepted({ body: utf8(JSON.stringify(batch)) }).length, 2000);
  assertEquals(
    accepted({ data: btoa(JSON.stringify(batch.slice(0, 3))) }).length,
    3,
  );

  const tooMany = [...batch, sampleEvent(2000)];
  assertEquals(
    invalidDetail({ body: utf8(JSON.stringify(tooMany)) }),
    "a batch holds at most 2000 events; this one has more",
  );

  const broken = batch.slice(0, 5);
  broken[3] = { event: "collect metrics", properties: { token: "t" } };
  assertEquals(
    invalidDetail({ body: utf8(JSON.stringify(broken)) }),
    "event 3 of the batch (counting from 0): required fields not provided: " +
      "distinct_id; no event of this batch was recorded",
  );
  assertMatch(
    invalidDetail({ body: utf8(JSON.stringify([sampleEvent(0), "x"])) }),
    /^event 1 of the batch .*an event must be a JSON object, not string/,
  );
});

Deno.test("deep nesting and huge containers are refused before JSON.parse builds them", () => {
  const deep = "[".repeat(200_000) + "]".repeat(200_000);
  assertMatch(
    invalidDetail({ body: utf8(deep) }),
    /^event 0 of the batch .*properties nest deeper than 3 levels/,
  );
  const inProperties = (value: string) =>
    JSON.stringify(sampleEvent(1)).replace(/}}$/, `,"x":${value}}}`);
  assertEquals(
    invalidDetail({ body: utf8(inProperties(deep.slice(199_000, 201_000))) }),
    "properties nest deeper than 3 levels",
  );
  // Three levels inside a property are Mixpanel's limit, and accepted.
  assertEquals(
    accepted({ body: utf8(inProperties('{"a":[{"b":1}]}')) }).length,
    1,
  );
  assertEquals(
    invalidDetail({ body: utf8(inProperties('{"a":[{"b":[1]}]}')) }),
    "properties nest deeper than 3 levels",
  );
  const deepObject = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
  assertEquals(
    invalidDetail({ body: utf8(deepObject) }),
    "the event is larger than 65536 characters of JSON",
  );
  assertEquals(
    invalidDetail({ body: utf8(inProperties(`[${"0,".repeat(255)}0]`)) }),
    "an array has more than 255 elements",
  );
  assertEquals(
    accepted({ body: utf8(inProperties(`[${"0,".repeat(254)}0]`)) }).length,
    1,
    "255 elements are fine",
  );
  const wide = Object.fromEntries(
    Array.from({ length: 300 }, (_, i) => [`p${i}`, i]),
  );
  assertEquals(
    invalidDetail({ body: utf8(JSON.stringify(sampleEvent(1, wide))) }),
    "an object has more than 255 keys",
  );
  // 330 000 empty objects in one array: refused at the 256th.
  assertMatch(
    invalidDetail({ body: utf8(`[${"{},".repeat(330_000)}{}]`) }),
    /a batch holds at most 2000 events/,
  );
  assertEquals(
    invalidDetail({ body: utf8(inProperties(`"${"x".repeat(9000)}"`)) }),
    "a string is longer than 8192 characters",
  );
});

Deno.test("scanEvents: limits per event of a batch, strings with escapes, any text", () => {
  const big = JSON.stringify(sampleEvent(1, { pad: "y".repeat(8000) }));
  const batch = `[${Array(9).fill(big).join(",")}]`;
  assertEquals(scanEvents(batch, EVENT_LIMITS), null, "each event is small");
  assertEquals(
    scanEvents(batch, { ...EVENT_LIMITS, maxEventChars: 4000 }),
    "event 0 of the batch (counting from 0): the event is larger than 4000 characters of JSON",
  );
  // Brackets, braces and commas inside strings are text, not structure.
  assertEquals(
    scanEvents(
      JSON.stringify(sampleEvent(1, { s: '[[[[{{{{,,,,"\\' })),
      EVENT_LIMITS,
    ),
    null,
  );
  for (const text of ["", "]]]]", "}", '"unterminated', "[[,,,]", "\\\\"]) {
    scanEvents(text, EVENT_LIMITS); // never throws
  }
});

Deno.test("time: seconds or milliseconds, or absent; $insert_id optional", () => {
  const check = (props: Record<string, unknown>) => {
    const r = validateEvent({ event: "e", properties: props });
    assert(r.ok, JSON.stringify(r));
    return r.event;
  };
  const base = { token: "t", distinct_id: "d" };
  assertEquals(check(base).time, null);
  assertEquals(check(base).insertId, null);
  assertEquals(check({ ...base, time: 1795544503 }).time, 1795544503);
  assertEquals(check({ ...base, time: 1795544503123 }).time, 1795544503.123);
  assertEquals(check({ ...base, time: 1795544503.5 }).time, 1795544503.5);
  assertEquals(check({ ...base, $insert_id: "a-B-9" }).insertId, "a-B-9");
  // The event is kept as sent: nothing is added to it.
  assertEquals(check(base).properties, base);
});

Deno.test("/import: a missing token comes from the basic-auth user; NDJSON bodies", () => {
  const ndjson = [sampleEvent(1), sampleEvent(2)].map((e) => {
    const { token: _, ...rest } = e.properties;
    return JSON.stringify({ event: e.event, properties: rest });
  }).join("\n") + "\n";
  const r = decodeEvents(
    input({
      body: utf8(ndjson),
      contentType: "application/x-ndjson",
      fallbackToken: "project-token",
    }),
  );
  assert(r.ok);
  assertEquals(r.events.length, 2);
  for (const c of r.events) {
    assert(c.ok);
    assertEquals(c.event.token, "project-token");
    assertEquals(c.event.properties.token, "project-token");
  }
  const bad = decodeEvents(
    input({
      body: utf8('{"a":1}\n{not json\n'),
      contentType: "application/x-ndjson",
    }),
  );
  assert(!bad.ok);
  assertEquals(
    bad.rejection.message,
    `${UNINTERPRETABLE}: line 2 is not valid JSON`,
  );
});

Deno.test("excerpt: bounded, control characters escaped", () => {
  assertEquals(excerpt("a\nb\u001b[31m", 200), "a\\u000Ab\\u001B[31m");
  assertEquals(excerpt("id\u202Eexe", 200), "id\\u202Eexe", "bidi too");
  assertEquals(excerpt("x".repeat(300), 10), "xxxxxxxxxx…");
});

Deno.test("random bytes are refused with a reason", () => {
  for (let round = 0; round < 20; round++) {
    const body = crypto.getRandomValues(new Uint8Array(4096));
    const r = rejected({ body });
    assertEquals(r.status, 400);
    assert(r.message.startsWith(UNINTERPRETABLE), r.message);
  }
});

Deno.test("decodeFormBase64 accepts both alphabets and refuses the rest", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00]);
  for (const text of ["+/+/AA==", "-_-_AA", "+_-/AA=", " /+/AA"]) {
    assertEquals(decodeFormBase64(text), bytes, text);
  }
  for (const text of ["a", "ab=c", "a===", "ab*cd", "é"]) {
    assertEquals(decodeFormBase64(text), null, text);
  }
  // ASCII whitespace is skipped, as base64 decoders do.
  assertEquals(decodeFormBase64("+/+/\nAA"), bytes);
});

Deno.test("validateEvent returns the event as sent", () => {
  const sent = sampleEvent(9);
  const r = validateEvent(structuredClone(sent));
  assert(r.ok);
  assertEquals(r.event.properties, sent.properties);
  assertEquals(r.event.event, sent.event);
  assertEquals(r.event.distinctId, sent.properties.distinct_id);
  assertEquals(r.event.insertId, sent.properties.$insert_id);
});

Deno.test("queryParam reads a parameter as URLSearchParams does", () => {
  const queries = [
    "data=abc&verbose=1",
    "verbose=1&data=a%2Bb%3D&data=second",
    "data=a+b+c",
    "d%61ta=encoded-key&data=plain",
    "data",
    "data=&x=1",
    "x=1&&data=%zz%41",
    "data=%E2%82%AC%",
    "",
    "=&=data&data=a=b",
    "dat=no&data%3D=odd&data=yes",
  ];
  for (const q of queries) {
    for (const name of ["data", "verbose", "x", "missing"]) {
      assertEquals(
        queryParam(q, name),
        new URLSearchParams(q).get(name),
        `${name} of ${q}`,
      );
    }
  }
});

Deno.test("checkParsedEvent and scanEvents agree on every event shape (seeded)", () => {
  let seed = 0x2026;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const limits = {
    ...EVENT_LIMITS,
    maxKeys: 6,
    maxArrayElements: 5,
    maxStringChars: 12,
  };
  const value = (depth: number): unknown => {
    switch (rnd(depth > 5 ? 3 : 6)) {
      case 0:
        return rnd(1000);
      case 1:
        return "s".repeat(rnd(15));
      case 2:
        return rnd(2) === 0 ? null : true;
      case 3:
        return Array.from({ length: rnd(8) }, () => value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from(
            { length: rnd(8) },
            (
              _,
              i,
            ) => [
              `k${i}${"x".repeat(rnd(3) === 0 ? 12 : 0)}`,
              value(depth + 1),
            ],
          ),
        );
    }
  };
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const event = { event: "e", properties: value(1) };
    const scanned = scanEvents(JSON.stringify(event), limits);
    const checked = checkParsedEvent(event, limits);
    assertEquals(
      checked === null,
      scanned === null,
      `${JSON.stringify(event)}: scan ${scanned}, check ${checked}`,
    );
    if (checked !== null) refused++;
  }
  assert(refused > 200 && refused < 1800, `${refused} of 2000 refused`);
});
