// Logging goes to stderr only, so subcommands whose stdout is data stay clean.

import {
  configureSync,
  getLogger,
  getTextFormatter,
  type Logger as LogTapeLogger,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";
import { errorMessage } from "../runtime/error_message.ts";
import type { LogFormat, LogLevel } from "../config/levels.ts";

/**
 * A logger of hodometer's, as `logger()` returns it: LogTape's Logger, whose
 * messages take `{name}` placeholders filled from the properties given.
 */
export type Logger = LogTapeLogger;

/** How logs are written. */
export interface LogOptions {
  /** The lowest level written (LOG_LEVEL). */
  level: LogLevel;
  /** LOG_FORMAT: `text` lines, or `json`, one object a line. */
  format: LogFormat;
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

/**
 * Sends hodometer's logs to stderr (or `options.write`) at `options.level`
 * and in `options.format`, replacing any earlier setup; LogTape's own
 * warnings go there too.
 *
 * @example
 * ```ts
 * import { logger, setupLogging } from "./setup.ts";
 *
 * setupLogging({ level: "info", format: "json" });
 * logger("publish").info("delivered to {url}", { url: "http://receiver" });
 * // stderr: {"@timestamp":"…","level":"INFO","message":"delivered to http://receiver",…}
 * ```
 */
export function setupLogging(options: LogOptions): void {
  const format = options.format === "json" ? formatJsonLine : getTextFormatter({
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

/**
 * A JSON line: `@timestamp`, `level`, `message`, `logger`, `properties`.
 * LogTape's own JSON formatter puts strings into the message JSON-quoted;
 * here, as in text logs, a string reads as itself.
 */
function formatJsonLine(record: LogRecord): string {
  const message = record.message.map((part, i) =>
    i % 2 === 0 || typeof part === "string" ? String(part) : jsonText(part)
  ).join("");
  return `${
    JSON.stringify(
      {
        "@timestamp": new Date(record.timestamp).toISOString(),
        level: record.level === "warning" ? "WARN" : record.level.toUpperCase(),
        message,
        logger: record.category.join("."),
        properties: record.properties,
      },
      jsonValue,
    )
  }\n`;
}

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return errorMessage(value);
  return value;
}

function jsonText(value: unknown): string {
  if (value instanceof Error) return errorMessage(value);
  if (typeof value === "bigint") return value.toString();
  try {
    return JSON.stringify(value, jsonValue) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A logger under the `hodometer` category: `logger("publish")` writes as
 * `hodometer.publish`. Silent until setupLogging.
 */
export function logger(...category: string[]): Logger {
  return getLogger(["hodometer", ...category]);
}
