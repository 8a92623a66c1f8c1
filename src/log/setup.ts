// Logging goes to stderr only, so subcommands whose stdout is data stay clean.

import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";
import type { LogLevel } from "../config/settings.ts";

export type { Logger };

export interface LogOptions {
  level: LogLevel;
  format: "text" | "json";
  /** Where formatted lines go; stderr unless a test captures them. */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();
const writeStderr = (line: string) => {
  try {
    Deno.stderr.writeSync(encoder.encode(line));
  } catch {
    // stderr closed: nothing useful left to do with a log line
  }
};

export function setupLogging(options: LogOptions): void {
  const format = options.format === "json"
    ? getJsonLinesFormatter()
    : getTextFormatter({
      timestamp: "rfc3339",
      // Messages read as sentences: strings unquoted, the rest inspected.
      value: (v, inspect) => typeof v === "string" ? v : inspect(v),
    });
  const write = options.write ?? writeStderr;
  const sink: Sink = (record: LogRecord) => write(format(record));
  resetSync();
  configureSync({
    sinks: { stderr: sink },
    loggers: [
      {
        category: ["hodometer"],
        lowestLevel: options.level,
        sinks: ["stderr"],
      },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["stderr"],
      },
    ],
  });
}

/** A logger under the `hodometer` category. */
export function logger(...category: string[]): Logger {
  return getLogger(["hodometer", ...category]);
}
