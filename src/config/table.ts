// How the settings table reads to people: each default in its unit, and the
// configuration list of docs/configuration.md, generated from the table.

import { formatDuration } from "./parsers.ts";
import { type SettingDef, SETTINGS, type Unit } from "./settings.ts";
import { formatBytes } from "../runtime/units.ts";

/**
 * A value in its unit, as help shows it: a duration as `10s` (a zero as
 * `0`), bytes as `1048576 bytes (1 MiB)`, a list comma-separated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./table.ts";
 *
 * assert.equal(formatValue(90_000, "ms"), "1m30s");
 * assert.equal(formatValue(1024 * 1024, "bytes"), "1048576 bytes (1 MiB)");
 * assert.equal(formatValue(["a", "b"]), "a,b");
 * ```
 */
export function formatValue(value: unknown, unit?: Unit): string {
  if (Array.isArray(value)) return value.join(",");
  if (typeof value === "number" && value !== 0) {
    if (unit === "ms") return formatDuration(value);
    if (unit === "bytes") return formatBytes(value);
  }
  return String(value);
}

/**
 * A setting's default as `--help` and the docs show it: its value in its unit
 * (with what it means, when the table says), or the table's words for a
 * default that has no value to show, e.g. `8h`, `0 (keep forever)`, `unset`.
 */
export function helpDefault(def: SettingDef<unknown>): string {
  if (def.defaultText) return def.defaultText;
  const value = formatValue(def.default, def.unit);
  return def.defaultNote ? `${value} (${def.defaultNote})` : value;
}

/**
 * The settings list of docs/configuration.md: one list item per setting (variable and
 * aliases, flag, meaning, default), prose that wraps to any width where a
 * table of four long columns could not.
 */
export function settingsListMarkdown(): string {
  return Object.values(SETTINGS).map((s) => {
    const def = s as SettingDef<unknown>;
    const aliases = (def.envAliases ?? []).map((n) => `\`${n}\``);
    const env = `\`${def.env}\`${
      aliases.length > 0 ? ` (or ${aliases.join(", ")})` : ""
    }`;
    const flag = `\`--${def.flag}${def.arg ? ` ${def.arg}` : ""}\``;
    return `- ${env}, ${flag}: ${def.description}. Default: ${
      helpDefault(def)
    }.`;
  }).join("\n");
}
