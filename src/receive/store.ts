// The contract between the receiver's HTTP layer and where events are recorded.

export interface ReceivedEvent {
  event: string;
  properties: Record<string, unknown>;
}

export interface AddResult {
  /** Events newly recorded. */
  added: number;
  /** Events recognised as re-deliveries of one already recorded (same distinct_id and $insert_id). */
  duplicates: number;
}

export interface ListQuery {
  /** Newest N events (still returned oldest first). */
  limit?: number;
  /** Only events received before this time (ms since the epoch); for paging back. */
  before?: number;
  distinctId?: string;
}

export interface EventStore {
  /** Records a batch atomically: all or none. Resolves only once the batch is durable for this store. */
  add(events: readonly ReceivedEvent[]): Promise<AddResult>;
  /** Events accepted so far (the `summary` total). */
  total(): number;
  /** Recorded events in arrival order (empty for stores that keep none). */
  list(query: ListQuery): ReceivedEvent[];
  close(): void;
}
