// Paged LIST requests (limit/continue), each page read as it streams: items
// are handed over one at a time and never held together, so neither a large
// cluster nor an answer far larger than any cluster (huge, endless) sits in
// memory. What each item keeps is its Pick (picks.ts).

import type { KubeClient, KubeResponse } from "./client.ts";
import type { Pick } from "./json_pick.ts";
import { checkListItems, continueToken, ShapeError } from "./objects.ts";
import { listPick } from "./picks.ts";
import { maxListAnswer, objectReserve } from "./read_budget.ts";

/** Asks for metadata only (PartialObjectMetadataList), falling back to full objects. */
export const METADATA_ONLY_ACCEPT: string = [
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1",
  "application/json",
].join(",");

/** Most pages of one list (a continue token that never ends is an error). */
const MAX_PAGES = 10_000;

/** How a paged list ended. */
export type ListOutcome =
  | { ok: true }
  | { ok: false; failure: Extract<KubeResponse, { ok: false }> }
  | { ok: false; shape: string };

/** One paged list. */
export interface ListRequest {
  /** Path of the list, e.g. `/api/v1/nodes`. */
  path: string;
  /** Name used in errors, e.g. "nodes list". */
  what: string;
  /** Items asked for per page (`limit`). */
  pageSize: number;
  /** Accept header; JSON when unset. */
  accept?: string;
  /** Aborts the list. */
  signal?: AbortSignal;
  /** What is kept of each item. */
  item: Pick;
  /**
   * Receives each item as it is read, with its index in the whole list and
   * the bytes kept of it; "stop" ends the list there. A ShapeError thrown
   * ends the list as malformed.
   */
  onItem: (item: unknown, index: number, keptBytes: number) => void | "stop";
}

/** Reads every page of a list, handing its items to `req.onItem` one by one. */
export async function listPaged(
  client: KubeClient,
  req: ListRequest,
): Promise<ListOutcome> {
  let token: string | undefined;
  let seen = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    let shape: string | undefined;
    let thrown: { error: unknown } | undefined;
    let stop = false;
    const res = await client.request({
      path: req.path,
      query: { limit: String(req.pageSize), continue: token },
      accept: req.accept,
      signal: req.signal,
      pick: listPick(req.item),
      // Bounded by the collection's budget, not by a page size, leaving
      // single objects theirs; and one answer never takes half of it.
      maxBytes: maxListAnswer(client.budget),
      leaveBytes: objectReserve(client.budget),
      onItem: (item, _index, kept) => {
        try {
          stop = req.onItem(item, seen++, kept) === "stop";
        } catch (e) {
          if (e instanceof ShapeError) shape = e.message;
          else thrown = { error: e };
        }
        return stop || shape !== undefined || thrown ? "stop" : undefined;
      },
    });
    if (thrown) throw thrown.error;
    if (shape !== undefined) return { ok: false, shape };
    if (!res.ok) return { ok: false, failure: res };
    if (stop) return { ok: true };
    try {
      checkListItems(res.body, req.what);
      const next = continueToken(res.body, req.what);
      if (next === undefined) return { ok: true };
      if (next === token) {
        return {
          ok: false,
          shape: `${req.what}: the continue token did not advance`,
        };
      }
      token = next;
    } catch (e) {
      if (e instanceof ShapeError) return { ok: false, shape: e.message };
      throw e;
    }
  }
  return { ok: false, shape: `${req.what}: more than ${MAX_PAGES} pages` };
}
