// How `--help` is laid out: the terminal's width within 80–100 columns (100
// when the output is not a terminal), flags in a column of at most
// TERM_COLUMN characters (a longer flag gets a line of its own), descriptions
// wrapped beside them; and how a usage error is said. The scripts' command
// lines (scripts/compile.ts, scripts/bench.ts) follow the same conventions.

import type { Command } from "commander";

/**
 * A command line as commander builds it: hodometer's, each subcommand's, and
 * the scripts'. Named here so that the functions laying one out can say
 * what they take; it is commander's `Command`, methods and all.
 */
export type CliCommand = Command;

/** The fewest columns help is laid out in, however narrow the terminal. */
export const MIN_HELP_WIDTH = 80;
/** The most columns help is laid out in, and its width off a terminal. */
export const HELP_WIDTH = 100;
const TERM_COLUMN = 30;
const INDENT = 2;
const GAP = 2;

/**
 * Wraps `text` at spaces to lines of at most `width` characters, keeping its
 * own line breaks; a word longer than `width` stays whole on its own line.
 */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter((w) => w !== "")) {
      if (line === "") line = word;
      else if (line.length + 1 + word.length <= width) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** One flag or command with its description, as `--help` shows it. */
export function formatHelpItem(
  term: string,
  termWidth: number,
  description: string,
  width = HELP_WIDTH,
): string {
  const indent = " ".repeat(INDENT);
  if (description === "") return indent + term;
  const column = Math.min(termWidth, TERM_COLUMN);
  const margin = " ".repeat(INDENT + column + GAP);
  const lines = wrapText(description, width - margin.length);
  if (term.length > column) {
    return [indent + term, ...lines.map((l) => margin + l)].join("\n");
  }
  const first = `${indent}${term.padEnd(column)}${" ".repeat(GAP)}${lines[0]}`;
  return [first, ...lines.slice(1).map((l) => margin + l)].join("\n");
}

/**
 * A titled list of `[term, description]` pairs, e.g. the exit statuses, laid
 * out as commander lays out flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatHelpSection } from "./help_layout.ts";
 *
 * assert.equal(
 *   formatHelpSection("Exit status:", [["0", "success"], ["2", "bad flag"]]),
 *   "Exit status:\n  0  success\n  2  bad flag",
 * );
 * ```
 */
export function formatHelpSection(
  title: string,
  items: readonly (readonly [string, string])[],
  width = HELP_WIDTH,
): string {
  const termWidth = Math.max(...items.map(([term]) => term.length));
  return [
    title,
    ...items.map(([term, text]) =>
      formatHelpItem(term, termWidth, text, width)
    ),
  ].join("\n");
}

/** The width help is laid out in for a terminal of `columns` (none: not a terminal). */
export function helpWidth(columns?: number): number {
  if (columns === undefined) return HELP_WIDTH;
  return Math.min(HELP_WIDTH, Math.max(MIN_HELP_WIDTH, columns));
}

/** The width for this process's stdout. */
export function stdoutHelpWidth(): number {
  try {
    return helpWidth(
      Deno.stdout.isTerminal() ? Deno.consoleSize().columns : undefined,
    );
  } catch {
    return HELP_WIDTH;
  }
}

/**
 * Applies the layout to `cmd` for help `width` columns wide; subcommands
 * created after it inherit it.
 */
export function useHelpLayout(cmd: CliCommand, width: number): CliCommand {
  return cmd.configureHelp({
    helpWidth: width,
    formatItem: (term, termWidth, description) =>
      formatHelpItem(term, termWidth, description, width),
  });
}

/**
 * A usage error is said in one line naming the command, then `hint` (where
 * to read more); the whole help would push the error off the screen.
 */
export function briefErrors(
  cmd: CliCommand,
  path: string,
  hint = `see '${path} --help'`,
): CliCommand {
  return cmd
    .configureOutput({
      outputError: (text, write) =>
        write(`${path}: ${text.replace(/^error: /, "")}`),
    })
    .showHelpAfterError(hint);
}
