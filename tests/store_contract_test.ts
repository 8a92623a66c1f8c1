// The store contract (tests/store_contract.ts) run against every store: the
// memory store at each record level, and the SQLite store in a file. (SQLite
// has no in-memory form here: it needs WAL, which an in-memory database does
// not have, and `--store :memory:` means the memory store.)

import { DatabaseSync } from "node:sqlite";
import { createMemoryStore } from "../src/receive/store/mod.ts";
import {
  openSqliteStore,
  type SqliteStoreOptions,
} from "../src/receive/store/sqlite_store.ts";
import type { OpenedStore, StoreKind } from "./store_contract.ts";
import { testStoreContract } from "./store_contract.ts";
import { sampleAccepted } from "./receive_sample.ts";

for (const level of ["all", "summary", "none"] as const) {
  testStoreContract({
    name: `memory (${level})`,
    keepsEvents: level === "all",
    open: (now) => {
      const store = createMemoryStore({
        recordLevel: level,
        maxEvents: 10_000,
        now,
      });
      return Promise.resolve({
        store,
        close: () => Promise.resolve(store.close()),
      });
    },
  });
}

/** A SQLite store in a file of a new temporary folder, removed on close. */
async function openSqlite(
  options: Omit<SqliteStoreOptions, "path">,
  prepare?: (path: string) => Promise<Partial<SqliteStoreOptions>>,
): Promise<OpenedStore> {
  const dir = await Deno.makeTempDir({ prefix: "hodometer-contract-" });
  const path = `${dir}/events.db`;
  const more = prepare ? await prepare(path) : {};
  const opened = openSqliteStore({ ...options, ...more, path });
  if (!opened.ok) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(opened.error);
  }
  return {
    store: opened.store,
    close: async () => {
      opened.store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Writes sampleAccepted(0) at `path`; the pages the file then holds. */
async function oneEventPages(path: string): Promise<number> {
  const setup = openSqliteStore({ path });
  if (!setup.ok) throw new Error(setup.error);
  await setup.store.add([sampleAccepted(0)]);
  setup.store.close();
  const db = new DatabaseSync(path);
  try {
    return (db.prepare("PRAGMA page_count").get() as { page_count: number })
      .page_count;
  } finally {
    db.close();
  }
}

const sqlite: StoreKind = {
  name: "sqlite (file)",
  keepsEvents: true,
  open: (now) => openSqlite({ now }),
  openBounded: (maxPendingEvents, now) => openSqlite({ now, maxPendingEvents }),
  openFull: (now) =>
    openSqlite({ now }, async (path) => ({
      maxPageCount: await oneEventPages(path) + 2,
    })),
};
testStoreContract(sqlite);
