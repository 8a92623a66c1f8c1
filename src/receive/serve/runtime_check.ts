// The Deno runtime hodometer is built and tested with, and what to say when
// the receiver runs on another: it leans on one of that runtime's internals
// (deno_connection.ts), which another version may change or lack.

/** deno.json's "denoVersion" (tests/receive_start_test.ts holds them equal). */
export const PINNED_DENO_VERSION = "2.9.6";

/** A warning when `version` is not the pinned one; null when it is. */
export function runtimeWarning(
  version: string = Deno.version.deno,
): string | null {
  if (version === PINNED_DENO_VERSION) return null;
  return `this Deno runtime is ${version}; hodometer is built and tested with ${PINNED_DENO_VERSION} (deno.json denoVersion): the receiver uses an internal of that runtime to serve connections and falls back to Deno.serve, with less, when it is missing`;
}
