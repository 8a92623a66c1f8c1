// In-memory event stores for the three record levels. `all` keeps a bounded
// ring (oldest dropped first, drops counted) instead of growing forever.

import type { RecordLevel } from "../config/settings.ts";
import type {
  AddResult,
  EventStore,
  ListQuery,
  ReceivedEvent,
} from "./store.ts";

export interface MemoryStoreStats {
  recordLevel: RecordLevel;
  /** Events accepted (re-deliveries not counted twice). */
  totalEvents: number;
  /** Events held now (0 unless `all`). */
  storedEvents: number;
  /** Oldest events dropped to stay within `maxEvents`. */
  droppedEvents: number;
  duplicateEvents: number;
  maxEvents: number;
}

export interface MemoryStore extends EventStore {
  stats(): MemoryStoreStats;
}

export interface MemoryStoreOptions {
  recordLevel: RecordLevel;
  /** Events kept by `all`; also how many recent ids are remembered to spot re-deliveries. */
  maxEvents: number;
  /** Milliseconds since the epoch; for `before` queries. */
  now?: () => number;
}

/** Re-deliveries carry the same distinct_id and $insert_id. */
const keyOf = (e: ReceivedEvent): string =>
  `${e.properties.distinct_id}\u0000${e.properties.$insert_id}`;

/** The most recent `capacity` keys, forgetting the oldest first. */
class RecentKeys {
  #order: string[] = [];
  #head = 0;
  #set = new Set<string>();
  constructor(readonly capacity: number) {}
  has(key: string): boolean {
    return this.#set.has(key);
  }
  add(key: string): void {
    if (this.#order.length < this.capacity) {
      this.#order.push(key);
    } else {
      this.#set.delete(this.#order[this.#head]);
      this.#order[this.#head] = key;
      this.#head = (this.#head + 1) % this.capacity;
    }
    this.#set.add(key);
  }
}

interface Stored {
  event: ReceivedEvent;
  receivedAt: number;
}

export function createMemoryStore(options: MemoryStoreOptions): MemoryStore {
  const { recordLevel, maxEvents } = options;
  if (!Number.isInteger(maxEvents) || maxEvents < 1) {
    throw new RangeError(`maxEvents must be a positive integer: ${maxEvents}`);
  }
  const now = options.now ?? Date.now;
  // `none` records nothing at all, not even ids; it only counts.
  const recent = recordLevel === "none" ? null : new RecentKeys(maxEvents);
  const ring: Stored[] = [];
  let head = 0; // index of the oldest entry once the ring is full
  let total = 0;
  let dropped = 0;
  let duplicates = 0;
  let closed = false;

  const keep = (item: Stored) => {
    if (ring.length < maxEvents) {
      ring.push(item);
      return;
    }
    ring[head] = item;
    head = (head + 1) % maxEvents;
    dropped++;
  };

  const inOrder = (): Stored[] =>
    head === 0 ? ring.slice() : [...ring.slice(head), ...ring.slice(0, head)];

  return {
    add(events: readonly ReceivedEvent[]): Promise<AddResult> {
      if (closed) return Promise.reject(new Error("the event store is closed"));
      const receivedAt = now();
      let added = 0;
      let seenAgain = 0;
      for (const event of events) {
        if (recent) {
          const key = keyOf(event);
          if (recent.has(key)) {
            seenAgain++;
            continue;
          }
          recent.add(key);
        }
        added++;
        if (recordLevel === "all") keep({ event, receivedAt });
      }
      total += added;
      duplicates += seenAgain;
      return Promise.resolve({ added, duplicates: seenAgain });
    },
    total: () => total,
    list(query: ListQuery): ReceivedEvent[] {
      let items = inOrder();
      if (query.distinctId !== undefined) {
        items = items.filter((s) =>
          s.event.properties.distinct_id === query.distinctId
        );
      }
      if (query.before !== undefined) {
        const before = query.before;
        items = items.filter((s) => s.receivedAt < before);
      }
      if (query.limit !== undefined) {
        items = query.limit > 0 ? items.slice(-query.limit) : [];
      }
      return items.map((s) => s.event);
    },
    stats: () => ({
      recordLevel,
      totalEvents: total,
      storedEvents: ring.length,
      droppedEvents: dropped,
      duplicateEvents: duplicates,
      maxEvents,
    }),
    close() {
      closed = true;
    },
  };
}
