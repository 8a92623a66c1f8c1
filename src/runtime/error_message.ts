/**
 * The text of anything thrown, for a message a user reads: an Error's
 * message (without its name or stack), else the value as a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./error_message.ts";
 *
 * assert.equal(errorMessage(new Error("connection refused")), "connection refused");
 * assert.equal(errorMessage("plain text"), "plain text");
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
