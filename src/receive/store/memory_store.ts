// In-memory event stores for the three record levels. Every level counts and
// recognises re-deliveries within a de-duplication window bounded in bytes;
// `all` also keeps the events themselves (as JSON text) in a ring bounded both
// by count and by bytes, dropping the oldest first and counting the drops.

import { type AcceptedEvent, isHodometerEvent, seenAt } from "../event/mod.ts";
import type { RecordLevel } from "../../config/levels.ts";
import { SETTINGS } from "../../config/settings.ts";
import { DAY_MS, MiB } from "../../runtime/units.ts";
import { DedupWindow } from "./dedup.ts";
import { snapshotValues } from "./clusters.ts";
import {
  type AddResult,
  type DayCount,
  type EventStore,
  type HistoryPoint,
  type PagePlan,
  type PageQuery,
  type StoredRow,
} from "./contract.ts";

/** What a memory store holds and has counted, for /healthz and the logs. */
export interface MemoryStoreStats {
  /** The record level it was made for. */
  recordLevel: RecordLevel;
  /** Events accepted (re-deliveries not counted twice). */
  totalEvents: number;
  /** Events held now (0 unless `all`). */
  storedEvents: number;
  /** Bytes the held events take (their JSON text). */
  storedBytes: number;
  /** Oldest events dropped to stay within the count or byte budget. */
  droppedEvents: number;
  /** Re-deliveries recognised since start. */
  duplicateEvents: number;
  /** Events held at most (`all`). */
  maxEvents: number;
  /** Bytes the held events may take (`all`). */
  maxBytes: number;
}

/** The memory store: an EventStore that also says what it holds. */
export interface MemoryStore extends EventStore {
  /** What it holds and has counted now. */
  stats(): MemoryStoreStats;
}

/** What a memory store keeps, and within what. */
export interface MemoryStoreOptions {
  /** `none` and `summary` count events; `all` keeps them too. */
  recordLevel: RecordLevel;
  /** Events kept by `all`. */
  maxEvents: number;
  /** Bytes the events kept by `all` may take; MAX_EVENTS_BYTES's default unless set. */
  maxBytes?: number;
  /** Bytes of the de-duplication window; 4 MiB unless set. */
  dedupBytes?: number;
  /** Milliseconds since the epoch, for receive times. */
  now?: () => number;
}

const DEDUP_BYTES = 4 * MiB;
/** What an entry costs besides its JSON text (two bytes a character, at worst). */
const ENTRY_OVERHEAD = 96;

interface Held extends StoredRow {
  distinctId: string;
  /** When it counts as heard from; NaN for an event not hodometer's (no cluster). */
  seenAtMs: number;
  bytes: number;
}

/**
 * A store in memory, for every record level: what `hodometer receive` uses
 * unless RECORD_LEVEL=all keeps events in SQLite. Bounded by construction:
 * the ring of `all` by `maxEvents` and `maxBytes`, the de-duplication window
 * by `dedupBytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMemoryStore } from "./mod.ts";
 *
 * const store = createMemoryStore({ recordLevel: "all", maxEvents: 100 });
 * const event = {
 *   event: "collect metrics",
 *   properties: { token: "t", distinct_id: "cluster-1", $insert_id: "a1" },
 *   token: "t",
 *   distinctId: "cluster-1",
 *   insertId: "a1",
 *   time: null,
 * };
 * assert.deepEqual(store.add([event]), {
 *   added: 1,
 *   duplicates: 0,
 *   fresh: [true],
 * });
 * // Delivered again (the agent retried): recognised, not recorded twice.
 * assert.equal((await store.add([event])).duplicates, 1);
 * assert.equal(store.total(), 1);
 * const page = store.planPage({ after: 0, limit: 10 });
 * const [row] = store.rows(0, page.lastId, page.count);
 * assert.equal(row?.event, "collect metrics");
 * store.close();
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions): MemoryStore {
  const { recordLevel, maxEvents } = options;
  if (!Number.isInteger(maxEvents) || maxEvents < 1) {
    throw new RangeError(`maxEvents must be a positive integer: ${maxEvents}`);
  }
  const maxBytes = options.maxBytes ?? SETTINGS.maxEventsBytes.default;
  const now = options.now ?? Date.now;
  const window = new DedupWindow(options.dedupBytes ?? DEDUP_BYTES);
  // Oldest first; `start` skips entries already dropped (compacted now and then).
  let held: Held[] = [];
  let start = 0;
  let heldBytes = 0;
  let nextId = 1;
  let total = 0;
  let dropped = 0;
  let duplicates = 0;
  let closed = false;

  const dropOldest = () => {
    const gone = held[start];
    if (gone === undefined) return;
    start++;
    heldBytes -= gone.bytes;
    if (start > 1024 && start * 2 > held.length) {
      held = held.slice(start);
      start = 0;
    }
  };
  const keep = (e: AcceptedEvent, receivedAtMs: number) => {
    const properties = JSON.stringify(e.properties);
    const bytes = ENTRY_OVERHEAD + 2 * (properties.length + e.event.length);
    held.push({
      id: nextId++,
      receivedAtMs,
      event: e.event,
      properties,
      distinctId: e.distinctId,
      seenAtMs: isHodometerEvent(e) ? seenAt(e, receivedAtMs) : NaN,
      bytes,
    });
    heldBytes += bytes;
    while (
      held.length - start > maxEvents ||
      (heldBytes > maxBytes && held.length - start > 1)
    ) {
      dropOldest();
      dropped++;
    }
  };

  /** Index of the first held entry with id > `id`. */
  const after = (id: number): number => {
    let lo = start, hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (held[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const keepsEvents = recordLevel === "all";
  return {
    keepsEvents,
    keptIn: keepsEvents ? "memory" : null,
    add(events: readonly AcceptedEvent[]): AddResult {
      if (closed) throw new Error("the event store is closed");
      const receivedAt = now();
      const fresh: boolean[] = [];
      let added = 0;
      for (const event of events) {
        const again = event.insertId !== null &&
          window.seen(event.distinctId, event.insertId);
        fresh.push(!again);
        if (again) continue;
        added++;
        if (keepsEvents) keep(event, receivedAt);
      }
      total += added;
      duplicates += events.length - added;
      return { added, duplicates: events.length - added, fresh };
    },
    total: () => total,
    held: () => held.length - start,
    planPage(query: PageQuery): PagePlan {
      let count = 0;
      let lastId = query.after;
      for (let i = after(query.after); i < held.length; i++) {
        const h = held[i]!;
        if (
          query.distinctId !== undefined && h.distinctId !== query.distinctId
        ) {
          continue;
        }
        if (count === query.limit) return { lastId, count, more: true };
        count++;
        lastId = h.id;
      }
      return { lastId, count, more: false };
    },
    rows(
      from: number,
      upTo: number,
      max: number,
      distinctId?: string,
      maxChars = Infinity,
    ) {
      const out: StoredRow[] = [];
      let chars = 0;
      for (let i = after(from); i < held.length && out.length < max; i++) {
        const h = held[i]!;
        if (h.id > upTo) break;
        if (distinctId !== undefined && h.distinctId !== distinctId) continue;
        chars += h.properties.length;
        if (out.length > 0 && chars > maxChars) break;
        out.push(h);
      }
      return out;
    },
    history(distinctId: string, max: number): HistoryPoint[] {
      const out: HistoryPoint[] = [];
      for (let i = held.length - 1; i >= start && out.length < max; i--) {
        const h = held[i]!;
        if (h.distinctId !== distinctId) continue;
        out.push({
          receivedAtMs: h.receivedAtMs,
          values: snapshotValues(JSON.parse(h.properties)),
        });
      }
      return out.reverse();
    },
    activeByDay(sinceMs: number): DayCount[] | null {
      if (!keepsEvents) return null;
      const since = Math.floor(sinceMs / DAY_MS);
      const days = new Map<number, Set<string>>();
      for (let i = start; i < held.length; i++) {
        const h = held[i]!;
        const day = Math.floor(h.seenAtMs / DAY_MS);
        if (!(day >= since)) continue; // before, or not a cluster's (NaN)
        let ids = days.get(day);
        if (!ids) days.set(day, ids = new Set());
        ids.add(h.distinctId);
      }
      return [...days].sort((a, b) => a[0] - b[0])
        .map(([day, ids]) => ({ dayMs: day * DAY_MS, clusters: ids.size }));
    },
    deleteReceivedBefore(cutoffMs: number): Promise<number> {
      let deleted = 0;
      while ((held[start]?.receivedAtMs ?? Infinity) < cutoffMs) {
        dropOldest();
        deleted++;
      }
      return Promise.resolve(deleted);
    },
    stats: () => ({
      recordLevel,
      totalEvents: total,
      storedEvents: held.length - start,
      storedBytes: heldBytes,
      droppedEvents: dropped,
      duplicateEvents: duplicates,
      maxEvents,
      maxBytes,
    }),
    close() {
      closed = true;
    },
  };
}
