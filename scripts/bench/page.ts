// The receiver's pages at fleet scale: a SQLite store seeded through the
// store's own writes (receive times spread over the days, as the tests' seeded
// fleet), served by `hodometer receive` as shipped; the pages fetched again
// and again on loopback, their size and time to the last byte taken, and the
// receiver's memory read.

import { seedFleet } from "../../tests/fixtures/fleet_seed.ts";
import { startReceiverProcess } from "../../tests/fixtures/receiver_process.ts";
import { openSqliteStore } from "../../src/receive/store/sqlite_store.ts";
import { readMemory } from "./proc.ts";

export interface PageTiming {
  path: string;
  bytes: number;
  /** Milliseconds to the last byte, one per fetch. */
  ms: number[];
}

export interface PageScale {
  clusters: number;
  days: number;
  events: number;
  seedMs: number;
  pages: PageTiming[];
  /** The receiver's resident anonymous memory after the fetches (kB). */
  rssAnonKb: number | null;
}

/** Seeds a fleet, starts a receiver on it, fetches its pages `fetches` times each. */
export async function measurePages(
  clusters: number,
  days: number,
  fetches: number,
): Promise<PageScale> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-bench-page-" });
  try {
    const path = `${dir}/events.db`;
    const fleet = seedFleet({ clusters, days, endMs: Date.now() - 60_000 });
    let clock = 0;
    const opened = openSqliteStore({ path, now: () => clock });
    if (!opened.ok) throw new Error(opened.error);
    const started = performance.now();
    for (const round of fleet.rounds()) {
      clock = round.receivedAtMs;
      await opened.store.add(round.events);
    }
    opened.store.close();
    const seedMs = performance.now() - started;

    const receiver = await startReceiverProcess({
      args: ["--record-level", "all", "--store", path],
    });
    try {
      const someone = [...fleet.latest.keys()][0];
      const paths = [
        "/",
        "/?seldon_core_version=2.9.1&sort=model_count&per=200",
        `/clusters/${someone}`,
      ];
      const pages: PageTiming[] = [];
      for (const p of paths) {
        const ms: number[] = [];
        let bytes = 0;
        // One fetch to warm up, not counted.
        for (let i = 0; i <= fetches; i++) {
          const t = performance.now();
          const res = await fetch(receiver.url + p);
          const body = new Uint8Array(await res.arrayBuffer());
          if (res.status !== 200) throw new Error(`${p}: ${res.status}`);
          if (i > 0) ms.push(performance.now() - t);
          bytes = body.length;
        }
        pages.push({ path: p, bytes, ms });
      }
      const memory = await readMemory(receiver.pid);
      return {
        clusters,
        days,
        events: fleet.events,
        seedMs,
        pages,
        rssAnonKb: memory?.rssAnonKb ?? null,
      };
    } finally {
      await receiver.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
