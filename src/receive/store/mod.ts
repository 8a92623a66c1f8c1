// Where accepted events are recorded: the store contract, its two stores
// (memory, and SQLite loaded only when asked for), retention, the book of each
// cluster's latest snapshot, and the store's health. Imports the event layer
// only.

export {
  type AddResult,
  type DayCount,
  type EventStore,
  type HistoryPoint,
  type LatestOfCluster,
  type PagePlan,
  type PageQuery,
  StoreBusyError,
  type StoredRow,
} from "./contract.ts";
export {
  ClusterBook,
  type ClusterBookOptions,
  type ClusterSnapshot,
} from "./clusters.ts";
export {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
  type MemoryStoreStats,
} from "./memory_store.ts";
export type {
  Opened,
  SqliteStore,
  SqliteStoreOptions,
  SqliteStoreStats,
} from "./sqlite_store.ts";
export {
  type Expired,
  type Retention,
  type RetentionOptions,
  startRetention,
} from "./retention.ts";
export {
  StoreHealth,
  type StoreHealthOptions,
  type StoreStatus,
} from "./store_health.ts";

/**
 * The SQLite store's module, loaded when first asked for: a receiver that
 * keeps its events in memory never loads node:sqlite.
 */
export const loadSqliteStore = (): Promise<
  typeof import("./sqlite_store.ts")
> => import("./sqlite_store.ts");
