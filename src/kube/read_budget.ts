// One byte budget for every Kubernetes read of a collection: the answers of
// all its requests (lists, /version, the cluster id's ConfigMap, TLS
// secrets) together, in-cluster or through a kubeconfig. Answers are read as
// they stream (json_pick.ts), so memory does not grow with what is read; the
// budget bounds the work one collection does when an API server sends more
// than any real cluster has (an endless list), and says who spent it. Lists
// leave an eighth of it to single objects (the cluster id's ConfigMap above
// all: a hostile list must not change the cluster's identity), and one answer
// of a list takes at most half of it, so that one list that never ends leaves
// the other lists theirs.

import { formatBytes, MiB } from "../runtime/units.ts";

/** What every Kubernetes read of one collection may take together, unless told otherwise. */
export const DEFAULT_READ_BUDGET_BYTES: number = 32 * MiB;

/** What lists leave of a budget to single objects: an eighth (4 MiB of 32). */
export function objectReserve(budget: ReadBudget): number {
  return Math.floor(budget.limit / 8);
}

/** Most bytes of one answer of a list: half the budget (16 MiB of 32). */
export function maxListAnswer(budget: ReadBudget): number {
  return Math.floor(budget.limit / 2);
}

/** The bytes the reads of one collection may still take; shared by all of them. */
export class ReadBudget {
  #used = 0;
  readonly #spent = new Map<string, number>();

  /** `limit`: the bytes every read together may take. */
  constructor(readonly limit: number = DEFAULT_READ_BUDGET_BYTES) {}

  /** Bytes taken so far. */
  get used(): number {
    return this.#used;
  }

  /** Whether nothing is left. */
  get exhausted(): boolean {
    return this.#used >= this.limit;
  }

  /**
   * Takes `n` bytes for the read `what`, leaving `leave` bytes untaken, or
   * refuses them (taking what is left, so later reads are refused at once)
   * when they do not all fit.
   */
  take(n: number, what: string, leave = 0): boolean {
    const granted = Math.max(
      0,
      Math.min(n, this.limit - leave - this.#used),
    );
    this.#used += granted;
    this.#spent.set(what, (this.#spent.get(what) ?? 0) + granted);
    return granted === n;
  }

  /** Who took the budget, the biggest first: `GET /api/v1/nodes 33554432 bytes (32 MiB)`. */
  spentBy(): string {
    return [...this.#spent].filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([what, n]) => `${what} ${formatBytes(n)}`)
      .join(", ");
  }

  /** Why a read that had to leave `leave` bytes was cut off, for its failure message. */
  explain(leave = 0): string {
    const kept = leave > 0
      ? `, but for the ${formatBytes(leave)} kept for single objects,`
      : "";
    return `the ${
      formatBytes(this.limit)
    } that all Kubernetes reads of one collection may take together are spent${kept} (${this.spentBy()})`;
  }
}
