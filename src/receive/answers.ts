// The receiver's answers that are not views: plain text and JSON, and the
// shapes Mixpanel's clients expect of /track and /import (the reference's
// success bodies byte for byte, its refusals, and /import's strict JSON). Pure:
// from what was decided to a Response.

import type { Checked } from "./ingest/mod.ts";
import type { Rejection } from "./event/mod.ts";
import { fixedAnswer, fixedAnswerCopies } from "./serve/mod.ts";

/** The reference's verbose success body, byte for byte. */
export const VERBOSE_OK = '{"status":1,"error":""}';
/** Mixpanel's success body when not verbose: the official clients check for exactly this. */
export const PLAIN_OK = "1";

/** Headers by name, lower case. */
export type HeaderMap = Record<string, string>;

const TEXT = "text/plain; charset=utf-8";
/** The media type of every JSON answer. */
export const JSON_TYPE = "application/json";

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  408: "Request Timeout",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  503: "Service Unavailable",
};

const TEXT_HEADERS: HeaderMap = {
  "content-type": TEXT,
  "x-content-type-options": "nosniff",
};

/**
 * The success answers' init, shared (a Response is made anew for each): the
 * reference's one header. Their bodies are constants, so nothing in them could
 * be sniffed; one header less is a tenth of the cost of a request to Deno's HTTP server.
 */
const OK_INIT: ResponseInit = { headers: { "content-type": TEXT } };
const verboseOk = fixedAnswerCopies(VERBOSE_OK, OK_INIT);
const plainOk = fixedAnswerCopies(PLAIN_OK, OK_INIT);
// As Go's: no content, and so no Content-Type (which a string body would get).
const emptyOk = fixedAnswerCopies(null, {});

/** A plain-text answer (not sniffed), with extra headers. */
export function textAnswer(
  status: number,
  body: string,
  headers?: HeaderMap,
): Response {
  return fixedAnswer(body, {
    status,
    headers: headers ? { ...TEXT_HEADERS, ...headers } : TEXT_HEADERS,
  });
}

/** `value` as a JSON answer, with extra headers. */
export function jsonAnswer(
  status: number,
  value: unknown,
  headers?: HeaderMap,
): Response {
  return fixedAnswer(JSON.stringify(value), {
    status,
    headers: { "content-type": JSON_TYPE, ...headers },
  });
}

/** 405 for a method other than GET and HEAD on a read route. */
export function notAllowed(): Response {
  return textAnswer(405, "only GET and HEAD are answered here\n", {
    allow: "GET, HEAD",
  });
}

/** How a request to /track or /import wants its answers. */
export interface AnswerShape {
  /** The reference's status object rather than "1" (`verbose=1`). */
  verbose: boolean;
  /** Mixpanel's JSON of /import, with each failed record (`strict=1`). */
  strict: boolean;
}

/**
 * The success answer of a request whose events were all valid, shared copies
 * for the reference's shapes. Not verbose, events sent in Mixpanel's shape
 * (`viaData`: a `data` parameter or form field) get Mixpanel's `1`, which its
 * clients check for; a bare JSON body gets the reference's empty body, as
 * Seldon's Go receiver answers `curl -d '{"event":…}'`.
 */
export function accepted(
  shape: AnswerShape,
  imported: number,
  viaData = true,
): Response {
  if (!shape.strict) {
    return shape.verbose ? verboseOk() : viaData ? plainOk() : emptyOk();
  }
  return jsonAnswer(200, {
    code: 200,
    num_records_imported: imported,
    status: "OK",
  });
}

/** Mixpanel's answer of a strict request some of whose events failed validation. */
export function partlyAccepted(
  checked: readonly Checked[],
  imported: number,
): Response {
  return jsonAnswer(400, {
    code: 400,
    error: "some data points in the request failed validation",
    status: "Bad Request",
    num_records_imported: imported,
    failed_records: failedRecords(checked),
  });
}

/** One failure of a strict request, as Mixpanel lists it. */
export interface FailedRecord {
  /** The event's place in the batch, from 0. */
  index: number;
  /** Its $insert_id; "" when it had none. */
  insert_id: string;
  /** What was wrong where. */
  field: string;
  /** What is wrong with it. */
  message: string;
}

/** Mixpanel's per-event failures of a strict request. */
export function failedRecords(checked: readonly Checked[]): FailedRecord[] {
  const out: FailedRecord[] = [];
  checked.forEach((c, index) => {
    if (c.ok) return;
    for (const p of c.problems) {
      out.push({
        index,
        insert_id: c.insertId ?? "",
        field: p.field,
        message: p.message,
      });
    }
  });
  return out;
}

/** The reference's refusals (a status object when verbose, else plain text), or /import's JSON. */
export function refusal(r: Rejection, shape: AnswerShape): Response {
  // A failing store is usually passing (a busy queue, a disk being freed).
  const extra: HeaderMap = r.status === 503 ? { "retry-after": "5" } : {};
  // A body not read to its end leaves the connection unusable for the next request.
  if (
    r.kind === "body_timeout" || r.kind === "busy" || r.kind === "too_large"
  ) {
    extra["connection"] = "close";
  }
  if (shape.strict) {
    return jsonAnswer(r.status, {
      code: r.status,
      error: r.kind === "invalid_token" ? "Invalid credentials" : r.message,
      status: STATUS_TEXT[r.status],
    }, extra);
  }
  return shape.verbose
    ? textAnswer(
      r.status,
      JSON.stringify({ status: 0, error: r.message }),
      extra,
    )
    : textAnswer(r.status, `${r.message}\n`, extra);
}
