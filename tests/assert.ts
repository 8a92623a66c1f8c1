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

/**
 * Element `index` of `items` (negative counts from the end), asserted to be
 * there: the test fails, naming the index and the length, when it is not.
 */
export function nth<T>(items: ArrayLike<T>, index: number, what?: string): T {
  const i = index < 0 ? items.length + index : index;
  const item = items[i];
  if (i < 0 || i >= items.length || item === undefined) {
    throw new nodeAssert.AssertionError({
      message: `${what ?? "item"} ${index} of ${items.length} is missing`,
    });
  }
  return item;
}

/** The first `n` items of `items`, each asserted to be there (see nth). */
export function leading<T>(items: ArrayLike<T>, n: 1): [T];
export function leading<T>(items: ArrayLike<T>, n: 2): [T, T];
export function leading<T>(items: ArrayLike<T>, n: 3): [T, T, T];
export function leading<T>(items: ArrayLike<T>, n: 4): [T, T, T, T];
export function leading<T>(items: ArrayLike<T>, n: 5): [T, T, T, T, T];
export function leading<T>(items: ArrayLike<T>, n: number): T[] {
  return Array.from({ length: n }, (_, i) => nth(items, i));
}

/** Group `group` of the first match of `pattern` in `text`, asserted to be there. */
export function captured(pattern: RegExp, text: string, group = 1): string {
  const value = pattern.exec(text)?.[group];
  if (value === undefined) {
    throw new nodeAssert.AssertionError({
      message: `no group ${group} of ${pattern} in ${
        JSON.stringify(text.slice(0, 200))
      }`,
    });
  }
  return value;
}
