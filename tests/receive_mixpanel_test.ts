// `hodometer receive` as shipped, driven with the requests of the official
// Mixpanel Node.js library (0.24.0), byte for byte and on one kept-alive
// connection as its agent sends them: every event is accepted by the library's
// own rule of success, stored as sent, and profile updates get a clear answer
// that they are not recorded.

import { assert, assertEquals, assertMatch, captured, nth } from "./assert.ts";
import { startReceiverProcess } from "./fixtures/receiver_process.ts";
import { MIXPANEL_NODE_0_24_0 } from "./fixtures/mixpanel_node_requests.ts";
import { fetchAllEvents } from "./receive_sample.ts";

interface Answer {
  status: number;
  body: string;
}

/** Sends every request on one connection, reading each answer (Content-Length framed) in turn. */
async function sendOnOneConnection(
  port: number,
  requests: string[],
): Promise<Answer[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const answers: Answer[] = [];
  const buf = new Uint8Array(64 * 1024);
  let pending = "";
  const timer = setTimeout(() => conn.close(), 20_000);
  try {
    for (const raw of requests) {
      await conn.write(new TextEncoder().encode(raw));
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end >= 0) {
          const head = pending.slice(0, end);
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
          if (pending.length >= end + 4 + length) {
            answers.push({
              status: Number(captured(/^HTTP\/1\.1 (\d{3})/, head)),
              body: pending.slice(end + 4, end + 4 + length),
            });
            assert(!/connection: close/i.test(head), "kept alive");
            pending = pending.slice(end + 4 + length);
            break;
          }
        }
        const n = await conn.read(buf);
        if (n === null) throw new Error(`closed after ${answers.length}`);
        pending += new TextDecoder().decode(buf.subarray(0, n));
      }
    }
  } finally {
    clearTimeout(timer);
    conn.close();
  }
  return answers;
}

/** The library's own test of a response (mixpanel-node.js, send_request). */
function libraryAccepts(verbose: boolean, body: string): boolean {
  if (!verbose) return body === "1";
  try {
    return JSON.parse(body).status == 1;
  } catch {
    return false;
  }
}

Deno.test("the official Mixpanel Node.js library's requests are accepted as it expects, events stored as sent", async () => {
  const receiver = await startReceiverProcess({
    args: ["--record-level", "all", "--store", ":memory:"],
  });
  try {
    const host = `127.0.0.1:${receiver.port}`;
    const requests = MIXPANEL_NODE_0_24_0.map((r) =>
      r.raw.replace("Host: HOST", `Host: ${host}`)
    );
    const answers = await sendOnOneConnection(receiver.port, requests);
    MIXPANEL_NODE_0_24_0.forEach((r, i) => {
      const verbose = /[?&]verbose=1/.test(r.raw);
      const profile = /^GET \/(engage|groups)/.test(r.raw);
      if (profile) {
        assertEquals(nth(answers, i).status, 400, r.call);
        assertMatch(
          JSON.parse(nth(answers, i).body).error,
          /profiles are not recorded by this receiver/,
        );
        assertEquals(libraryAccepts(verbose, nth(answers, i).body), false);
      } else {
        assertEquals(nth(answers, i).status, 200, r.call);
        assert(
          libraryAccepts(verbose, nth(answers, i).body),
          `${r.call}: ${nth(answers, i).body}`,
        );
      }
    });

    const stored = await fetchAllEvents(receiver.url);
    assertEquals(
      stored.map((e) => [
        e.event,
        e.properties.distinct_id,
        e.properties.time,
        e.properties.$insert_id,
      ]),
      [
        // No time and no $insert_id: kept as sent.
        [
          "collect metrics",
          "22d36da9-9b3a-42ec-adf7-28ca710e6183",
          undefined,
          undefined,
        ],
        [
          "collect metrics",
          "22d36da9-9b3a-42ec-adf7-28ca710e6183",
          undefined,
          undefined,
        ],
        // A Date: milliseconds.
        [
          "collect metrics",
          "22d36da9-9b3a-42ec-adf7-28ca710e6183",
          1795544503123,
          "abc-123",
        ],
        ["a", "d1", 1795544503123, undefined],
        ["b", "d2", undefined, undefined],
        ["old", "d3", 1795544503123, undefined],
        ["c", "d4", 1795544503, undefined],
      ],
    );
    assertEquals(nth(stored, 0).properties.mp_lib, "node");
    assertEquals(nth(stored, 0).properties.$lib_version, "0.24.0");
    assertEquals(nth(stored, 0).properties.model_count, 3);

    // The same requests again: the events with an $insert_id are re-deliveries.
    const again = await sendOnOneConnection(receiver.port, requests);
    assertEquals(again.map((a) => a.status), answers.map((a) => a.status));
    const health = await (await fetch(`${receiver.url}/healthz`)).json();
    assertEquals(health.storedEvents, 7 + 6);
    assertEquals(health.duplicateEvents, 1);
  } finally {
    assertEquals((await receiver.stop()).code, 0);
  }
});
