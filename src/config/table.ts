// The configuration list of docs/configuration.md, generated from the settings table.

import { type SettingDef, SETTINGS } from "./settings.ts";

/** A setting's default as `--help` and the docs show it, e.g. `8h` or `none`. */
export function helpDefault(def: SettingDef<unknown>): string {
  if (def.defaultText) return def.defaultText;
  return Array.isArray(def.default)
    ? def.default.join(",")
    : String(def.default);
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
