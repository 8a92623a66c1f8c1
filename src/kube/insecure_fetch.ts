// A fetch for an API server whose certificate is not to be verified
// (insecure-skip-tls-verify in a kubeconfig, as kind and minikube write):
// Deno's fetch has no such switch; node:tls can be told not to verify
// (rejectUnauthorized). node:http speaks HTTP/1.1 over that socket: node:https
// would ask for the system's CA store (--allow-sys) even when it is not used.
// Only the kubeconfig path loads this, and only for such a cluster.

import http from "node:http";
import tls from "node:tls";
import { Buffer } from "node:buffer";
import { isIpLiteral } from "../net/host.ts";

/** No body may come with these statuses (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** A fetch over HTTP/1.1 and TLS that does not verify the server (with a client certificate when given). */
export function insecureFetch(
  clientCert?: { cert: string; key: string },
): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = Number(url.port || 443);
      const headers = new Headers(init?.headers);
      const body = typeof init?.body === "string" ? init.body : undefined;
      if (body !== undefined) {
        headers.set("content-length", String(Buffer.byteLength(body)));
      }
      const signal = init?.signal ?? undefined;
      if (signal?.aborted) {
        return reject(new DOMException("aborted", "AbortError"));
      }
      const request = http.request({
        host,
        port,
        path: url.pathname + url.search,
        method: init?.method ?? "GET",
        headers: Object.fromEntries(headers),
        createConnection: () =>
          tls.connect({
            host,
            port,
            rejectUnauthorized: false,
            ...(isIpLiteral(host) ? {} : { servername: host }),
            ...clientCert,
          }),
      }, (res) => {
        const status = res.statusCode ?? 502;
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
        }
        if (NULL_BODY.has(status)) {
          res.resume();
          return resolve(new Response(null, { status, headers: out }));
        }
        // The socket is read only as fast as the answer is: paused while a
        // chunk waits, so an endless answer never queues up in memory.
        // Nothing reaches the stream once it is cancelled or ended.
        let open = true;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            res.on("data", (chunk: Buffer) => {
              if (!open) return;
              controller.enqueue(new Uint8Array(chunk));
              if ((controller.desiredSize ?? 0) <= 0) res.pause();
            });
            res.on("end", () => {
              if (open) controller.close();
              open = false;
            });
            res.on("error", (e) => {
              if (open) controller.error(e);
              open = false;
            });
          },
          pull() {
            res.resume();
          },
          cancel() {
            open = false;
            res.destroy();
          },
        }, { highWaterMark: 1 });
        resolve(new Response(stream, { status, headers: out }));
      });
      const onAbort = () =>
        request.destroy(new DOMException("aborted", "AbortError"));
      signal?.addEventListener("abort", onAbort, { once: true });
      request.on("close", () => signal?.removeEventListener("abort", onAbort));
      request.on("error", reject);
      request.end(body);
    });
}
