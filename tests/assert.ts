// Assertions for the tests, on node:assert (JSR's @std/assert cannot be reached here).

import nodeAssert from "node:assert/strict";

// Some @types/node versions (pulled in by grpc-js) type `message` as required
// string in the overload taking one; undefined keeps node's own message.
const msg = (message?: string) => message as string;

export function assert(
  condition: unknown,
  message?: string,
): asserts condition {
  nodeAssert.ok(condition, msg(message));
}

export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg(message));
}

export function assertNotEquals(
  actual: unknown,
  expected: unknown,
  message?: string,
): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg(message));
}

export function assertMatch(
  actual: string,
  expected: RegExp,
  message?: string,
): void {
  nodeAssert.match(actual, expected, msg(message));
}

export function assertStringIncludes(
  actual: string,
  expected: string,
  message?: string,
): void {
  nodeAssert.ok(
    actual.includes(expected),
    message ??
      `expected ${JSON.stringify(actual)} to include ${
        JSON.stringify(expected)
      }`,
  );
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  expected?: RegExp,
): Promise<void> {
  await (expected ? nodeAssert.rejects(fn, expected) : nodeAssert.rejects(fn));
}

export function assertThrows(fn: () => unknown, expected?: RegExp): void {
  if (expected) nodeAssert.throws(fn, expected);
  else nodeAssert.throws(fn);
}
