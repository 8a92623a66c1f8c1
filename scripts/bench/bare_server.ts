// The receiver benchmark's yardstick: Deno.serve answering every request with
// what a Mixpanel-compatible endpoint says on success. Prints its port, stops
// on SIGTERM.
//
//   deno run --allow-net=127.0.0.1 scripts/bench/bare_server.ts

const BODY = '{"status":1,"error":""}';
const server = Deno.serve(
  {
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  },
  () => new Response(BODY, { headers: { "content-type": "application/json" } }),
);
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
