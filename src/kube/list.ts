// Paged LIST requests (limit/continue): items are handed over one page at a
// time, so a large cluster never sits in memory at once.

import type { KubeClient, KubeResponse } from "./client.ts";
import { continueToken, listItems, ShapeError } from "./objects.ts";

/** Asks for metadata only (PartialObjectMetadataList), falling back to full objects. */
export const METADATA_ONLY_ACCEPT = [
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1",
  "application/json",
].join(",");

export const MAX_PAGES = 10_000;

export type ListOutcome =
  | { ok: true }
  | { ok: false; failure: Extract<KubeResponse, { ok: false }> }
  | { ok: false; shape: string };

export interface ListRequest {
  path: string;
  /** Name used in errors, e.g. "nodes list". */
  what: string;
  pageSize: number;
  accept?: string;
  signal?: AbortSignal;
  /** Receives each page's items; return "stop" to stop paging early. */
  onPage: (items: unknown[], firstIndex: number) => void | "stop";
}

export async function listPaged(
  client: KubeClient,
  req: ListRequest,
): Promise<ListOutcome> {
  let token: string | undefined;
  let seen = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await client.request({
      path: req.path,
      query: { limit: String(req.pageSize), continue: token },
      accept: req.accept,
      signal: req.signal,
    });
    if (!res.ok) return { ok: false, failure: res };
    try {
      const items = listItems(res.body, req.what);
      const next = continueToken(res.body, req.what);
      const verdict = req.onPage(items, seen);
      seen += items.length;
      if (verdict === "stop" || next === undefined) return { ok: true };
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
