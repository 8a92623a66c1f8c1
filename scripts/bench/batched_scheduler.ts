// A scheduler for the benchmark that sends as fast as a real one does.
//
// The test double (tests/fixtures/scheduler_double.ts) is a grpc-js server:
// it writes one message per HTTP/2 write and waits for each write to finish,
// which under Deno caps it near 20 000 messages/s, slower than any client
// drains. A client that is never outpaced never buffers, so the double hides
// exactly what the benchmark must see. This server plays the same scaled
// scenario over plain node:http2, gRPC-framed messages packed into ~64 KiB
// writes, so the only brake on it is HTTP/2 flow control, as with the Go
// scheduler.

import http2 from "node:http2";
import { Buffer } from "node:buffer";
import {
  scaledScenario,
  type ScaleOptions,
  unknownField,
} from "../../tests/fixtures/scheduler_double.ts";
import { SchedulerService } from "../../src/proto/generated/scheduler.ts";

const BATCH_BYTES = 64 * 1024;

export interface BatchedScheduler {
  port: number;
  close(): Promise<void>;
}

type Encoded = Iterable<Uint8Array>;

function encodedStreams(o: ScaleOptions): Record<string, () => Encoded> {
  const s = scaledScenario(o);
  const S = SchedulerService;
  const pad = o.modelPadding ? unknownField(o.modelPadding) : undefined;
  return {
    [S.serverStatus.path]: function* () {
      for (const m of s.servers!()) yield S.serverStatus.responseSerialize(m);
    },
    [S.modelStatus.path]: function* () {
      for (const m of s.models!()) {
        const bytes = S.modelStatus.responseSerialize(m);
        yield pad ? Buffer.concat([bytes, pad]) : bytes;
      }
    },
    [S.pipelineStatus.path]: function* () {
      for (const m of s.pipelines!()) {
        yield S.pipelineStatus.responseSerialize(m);
      }
    },
    [S.experimentStatus.path]: function* () {
      for (const m of s.experiments!()) {
        yield S.experimentStatus.responseSerialize(m);
      }
    },
    [S.schedulerStatus.path]: function* () {
      yield S.schedulerStatus.responseSerialize({
        applicationVersion: s.version ?? "2.8.0",
      });
    },
  };
}

/** gRPC length-prefixed messages, packed into writes of about BATCH_BYTES. */
function* batches(messages: Encoded): Generator<Buffer> {
  let parts: Uint8Array[] = [];
  let size = 0;
  for (const m of messages) {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(m.length, 1);
    parts.push(head, m);
    size += 5 + m.length;
    if (size >= BATCH_BYTES) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

export async function startBatchedScheduler(
  scale: ScaleOptions,
  options: { port?: number } = {},
): Promise<BatchedScheduler> {
  const streams = encodedStreams(scale);
  const server = http2.createServer();
  server.on("stream", async (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ) => {
    stream.on("error", () => {/* the client went away */});
    const play = streams[String(headers[":path"])];
    if (!play) {
      stream.respond({
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": "12",
        "grpc-message": "unimplemented",
      }, { endStream: true });
      return;
    }
    stream.respond(
      { ":status": 200, "content-type": "application/grpc" },
      { waitForTrailers: true },
    );
    stream.on("wantTrailers", () => {
      stream.sendTrailers({ "grpc-status": "0", "grpc-message": "" });
    });
    // The request (one small message) is read and dropped.
    stream.resume();
    for (const batch of batches(play())) {
      if (stream.destroyed) return;
      if (!stream.write(batch)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stream.off("drain", done);
            stream.off("close", done);
            resolve();
          };
          stream.on("drain", done);
          stream.on("close", done);
        });
      }
    }
    if (!stream.destroyed) stream.end();
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });
  return {
    port,
    // Open sessions are left to the process's exit: destroying a session
    // whose client has sent GOAWAY trips an nghttp2 assertion in Deno 2.9.
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
