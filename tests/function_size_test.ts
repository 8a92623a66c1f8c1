// No function of the program hides its parts: every function of src/ (the
// generated protobuf code aside) has at most 60 lines of its own code
// (tests/function_size.ts says what counts), save at most five, each with a
// `// long: <reason>` comment right above it, and none has more than 100
// (issue 23's "Done when").

import { assert, assertEquals } from "./assert.ts";
import {
  type FunctionSize,
  LONG_REASON,
  measureFunctions,
  measureTree,
} from "./function_size.ts";

const ROOT = new URL("..", import.meta.url);

/** Lines of its own code a function may have without a reason. */
const RULE = 60;
/** Functions over RULE, each with its reason, at most. */
const MAX_LONG = 5;
/** Lines of its own code no function may have. */
const HARD_LIMIT = 100;

const shown = (f: FunctionSize) =>
  `${f.file}:${f.line} ${f.name}: ${f.ownLines} lines`;

/** What breaks the rule in `sizes`, each problem as a sentence. */
export function sizeProblems(sizes: readonly FunctionSize[]): string[] {
  const problems: string[] = [];
  const long = sizes.filter((f) => f.ownLines > RULE);
  for (const f of long) {
    if (f.ownLines > HARD_LIMIT) {
      problems.push(`${shown(f)}, more than ${HARD_LIMIT}: split it`);
    } else if (f.longReason === undefined) {
      problems.push(
        `${
          shown(f)
        }, more than ${RULE} without a "// long: <reason>" comment right above it`,
      );
    }
  }
  if (long.length > MAX_LONG) {
    problems.push(
      `${long.length} functions have more than ${RULE} lines, at most ${MAX_LONG} may: ${
        long.map(shown).join("; ")
      }`,
    );
  }
  return problems;
}

Deno.test("every function of src/ has at most 60 lines of its own code, save at most five that say why, and none more than 100", () => {
  const sizes = measureTree(ROOT);
  // Not vacuous: the program's functions were found and measured.
  assert(sizes.length > 500, `only ${sizes.length} functions found`);
  assertEquals(sizeProblems(sizes), []);
});

Deno.test("function size: own lines leave out blank and comment lines and the bodies of nested functions", () => {
  const source = [
    "/** Outer. */", // 1
    "export function outer(items: number[]) {", // 2
    "  // a comment", // 3
    "", // 4
    "  const inner = (x: number) => {", // 5: outer's
    "    const y = x * 2;", // 6: inner's
    "    /* a block", // 7
    "       comment */", // 8
    "    return y;", // 9: inner's
    "  };", // 10: outer's (the brace is inner's)
    "  const text = `a", // 11: outer's, a template over three lines
    "b", // 12
    "c`;", // 13
    "  return items.map((x) => x + 1).concat(inner(text.length));", // 14: both
    "}", // 15
    "class Shape {", // 16
    "  // long: a reason given", // 17
    "  area(): number { return 1; }", // 18
    "}", // 19
  ].join("\n");
  const sizes = measureFunctions("x.ts", source);
  assertEquals(
    sizes.map(({ name, line, ownLines, longReason }) => ({
      name,
      line,
      ownLines,
      longReason,
    })),
    [
      { name: "outer", line: 2, ownLines: 6, longReason: undefined },
      { name: "inner", line: 5, ownLines: 2, longReason: undefined },
      { name: "<anonymous>", line: 14, ownLines: 1, longReason: undefined },
      {
        name: "Shape.area",
        line: 18,
        ownLines: 1,
        longReason: "a reason given",
      },
    ],
  );
});

Deno.test("function size: a long function needs its reason, six are too many, and past 100 none may be", () => {
  const fn = (name: string, ownLines: number, longReason?: string) => ({
    name,
    file: "src/x.ts",
    line: 1,
    ownLines,
    longReason,
  });
  assertEquals(sizeProblems([fn("short", 60)]), []);
  assertEquals(sizeProblems([fn("said", 61, "a table of cases")]), []);
  assertEquals(sizeProblems([fn("silent", 61)]), [
    'src/x.ts:1 silent: 61 lines, more than 60 without a "// long: <reason>" comment right above it',
  ]);
  assertEquals(sizeProblems([fn("huge", 101, "even with a reason")]), [
    "src/x.ts:1 huge: 101 lines, more than 100: split it",
  ]);
  const six = [1, 2, 3, 4, 5, 6].map((i) => fn(`f${i}`, 70, "why"));
  const problems = sizeProblems(six);
  assertEquals(problems.length, 1);
  assert(problems[0]!.startsWith("6 functions have more than 60 lines"));
  // The comment's form: a line comment, with a reason after "long:".
  assert(LONG_REASON.test("// long: one table of cases"));
  assert(!LONG_REASON.test("// long:"));
  assert(!LONG_REASON.test("/* long: block */"));
});

Deno.test("function size: the reason is read above a declaration, an exported arrow and a method alike", () => {
  const source = [
    "// long: first",
    "export function a() {}",
    "/** Docs. */",
    "// long: second",
    "export const b = () => {};",
    "// long: not this one's: a blank line follows",
    "",
    "// an ordinary comment",
    "function c() {}",
  ].join("\n");
  const reasons = measureFunctions("y.ts", source).map((f) => [
    f.name,
    f.longReason,
  ]);
  assertEquals(reasons, [["a", "first"], ["b", "second"], ["c", undefined]]);
});
