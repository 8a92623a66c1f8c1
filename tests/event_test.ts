import { assert, assertEquals, assertMatch, captured } from "./assert.ts";
import {
  buildEvent,
  encodeEventData,
  newInsertId,
} from "../src/publish/event.ts";

const fixture = await Deno.readTextFile(
  new URL("../../shared/fixtures/reference-publish.http", import.meta.url),
).catch(() => undefined);

function decodeData(data: string): unknown {
  const binary = atob(data);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

Deno.test("the event has the Mixpanel envelope and keeps absent metrics absent", () => {
  const event = buildEvent({
    snapshot: {
      cluster_id: "22d36da9-9b3a-42ec-adf7-28ca710e6183",
      model_count: 3,
    },
    clusterId: "22d36da9-9b3a-42ec-adf7-28ca710e6183",
    token: "tok",
    timeMs: 1_795_544_503_999,
    insertId: "abc-1",
  });
  assertEquals(event, {
    event: "collect metrics",
    properties: {
      token: "tok",
      distinct_id: "22d36da9-9b3a-42ec-adf7-28ca710e6183",
      time: 1_795_544_503,
      $insert_id: "abc-1",
      ip: "0",
      cluster_id: "22d36da9-9b3a-42ec-adf7-28ca710e6183",
      model_count: 3,
    },
  });
});

Deno.test("insert ids are at most 36 characters of [A-Za-z0-9-] and fresh each time", () => {
  const a = newInsertId();
  assertMatch(a, /^[A-Za-z0-9-]{1,36}$/);
  assert(a !== newInsertId());
});

Deno.test("the data parameter is standard base64 of the UTF-8 JSON and round-trips", () => {
  const event = buildEvent({
    snapshot: { seldon_core_version: "2.8.0-ü" },
    clusterId: "c",
    token: "t",
    timeMs: 0,
    insertId: "i",
  });
  const data = encodeEventData(event);
  assertMatch(data, /^[A-Za-z0-9+/]+=*$/);
  assertEquals(decodeData(data), event);
});

Deno.test({
  name:
    "the reference capture decodes to an event with the same envelope as ours",
  ignore: fixture === undefined,
  fn() {
    const data = captured(/data=([^&\s]+)/, fixture!);
    const reference = decodeData(data) as {
      event: string;
      properties: Record<string, unknown>;
    };
    const ours = buildEvent({
      snapshot: {},
      clusterId: "c",
      token: "e943e8a2ebd1352338ecac1f9fde8c7c",
      timeMs: 0,
      insertId: "i",
    });
    assertEquals(ours.event, reference.event);
    for (const key of Object.keys(ours.properties)) {
      assert(key in reference.properties, `${key} is in the reference event`);
      assertEquals(
        typeof ours.properties[key],
        typeof reference.properties[key],
        key,
      );
    }
    assertEquals(ours.properties.ip, reference.properties.ip);
    assertEquals(ours.properties.token, reference.properties.token);
  },
});
