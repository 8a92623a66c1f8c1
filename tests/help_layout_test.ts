// The help layout as pure functions, and every command's help rendered in
// process at the narrowest and widest widths it is laid out in.

import { assert, assertEquals } from "./assert.ts";
import {
  formatHelpItem,
  HELP_WIDTH,
  helpWidth,
  MIN_HELP_WIDTH,
  wrapText,
} from "../src/help_layout.ts";
import { createProgram } from "../src/program.ts";

Deno.test("wrapText: at spaces, own line breaks kept, a long word whole", () => {
  assertEquals(wrapText("aa bb cc dd", 5), ["aa bb", "cc dd"]);
  assertEquals(wrapText("aa\nbb cc", 10), ["aa", "bb cc"]);
  assertEquals(wrapText("a /a/very/long/path b", 6), [
    "a",
    "/a/very/long/path",
    "b",
  ]);
  assertEquals(wrapText("", 10), [""]);
});

Deno.test("formatHelpItem: a column for short terms, a line of its own for long ones", () => {
  assertEquals(
    formatHelpItem("--once", 10, "one cycle and then exit", 30),
    "  --once      one cycle and\n              then exit",
  );
  const long = "--control-plane-security-protocol <protocol>";
  assertEquals(
    formatHelpItem(long, long.length, "PLAINTEXT or SSL", 60).split("\n"),
    [`  ${long}`, `${" ".repeat(34)}PLAINTEXT or SSL`],
  );
});

Deno.test("helpWidth: the terminal's width within 80–100, 100 when not a terminal", () => {
  assertEquals(helpWidth(undefined), HELP_WIDTH);
  assertEquals(helpWidth(40), MIN_HELP_WIDTH);
  assertEquals(helpWidth(90), 90);
  assertEquals(helpWidth(250), HELP_WIDTH);
});

function helpTexts(width: number): Map<string, string> {
  const program = createProgram(width, () => {});
  const texts = new Map<string, string>();
  for (const cmd of [program, ...program.commands]) {
    let text = "";
    cmd.configureOutput({ writeOut: (s) => text += s });
    cmd.outputHelp();
    texts.set(cmd.name(), text);
  }
  return texts;
}

for (const width of [MIN_HELP_WIDTH, HELP_WIDTH]) {
  Deno.test(`every command's help fits ${width} columns`, () => {
    const texts = helpTexts(width);
    assertEquals(
      [...texts.keys()].sort(),
      ["collect", "hodometer", "metrics", "receive", "run", "version"],
    );
    for (const [name, text] of texts) {
      for (const line of text.split("\n")) {
        assert(line.length <= width, `${name}: ${line.length}: ${line}`);
      }
      assert(/\nExit status:\n/.test(text), name);
    }
  });
}
