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

/** A SQLite store seeded with a fleet's events, and what it holds. */
export interface SeededStore {
  events: number;
  seedMs: number;
  /** A cluster of the fleet, for its page. */
  someone: string;
}

/** Seeds the SQLite store at `path` with `clusters` clusters over `days` days. */
export async function seedStore(
  path: string,
  clusters: number,
  days: number,
): Promise<SeededStore> {
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
  return {
    events: fleet.events,
    seedMs: performance.now() - started,
    someone: [...fleet.latest.keys()][0]!,
  };
}

/** The pages measured: the overview, a filtered and sorted list, a cluster's page. */
export function pagePaths(someone: string): string[] {
  return [
    "/",
    "/?seldon_core_version=2.9.1&sort=model_count&per=200",
    `/clusters/${someone}`,
  ];
}

/** `path` of a receiver fetched `fetches` times, after one not counted unless `warm` is false. */
export async function timePage(
  url: string,
  path: string,
  fetches: number,
  warm = true,
): Promise<PageTiming> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = warm ? 0 : 1; i <= fetches; i++) {
    const t = performance.now();
    const res = await fetch(url + path);
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    if (i > 0) ms.push(performance.now() - t);
    bytes = body.length;
  }
  return { path, bytes, ms };
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
    const seeded = await seedStore(path, clusters, days);
    const receiver = await startReceiverProcess({
      args: ["--record-level", "all", "--store", path],
    });
    try {
      const pages: PageTiming[] = [];
      for (const p of pagePaths(seeded.someone)) {
        pages.push(await timePage(receiver.url, p, fetches));
      }
      const memory = await readMemory(receiver.pid);
      return {
        clusters,
        days,
        events: seeded.events,
        seedMs: seeded.seedMs,
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
