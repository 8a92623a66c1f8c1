// The configuration table of the README, generated from the settings table.

import { type SettingDef, SETTINGS } from "./settings.ts";

export function helpDefault(def: SettingDef<unknown>): string {
  if (def.defaultText) return def.defaultText;
  return Array.isArray(def.default)
    ? def.default.join(",")
    : String(def.default);
}

export function settingsTableMarkdown(): string {
  const rows = Object.values(SETTINGS).map((s) => {
    const def = s as SettingDef<unknown>;
    const env = [def.env, ...(def.envAliases ?? [])].map((n) => `\`${n}\``)
      .join(", ");
    const flag = `\`--${def.flag}${def.arg ? ` ${def.arg}` : ""}\``;
    return `| ${env} | ${flag} | ${
      helpDefault(def).replaceAll("|", "\\|")
    } | ${def.description} |`;
  });
  return [
    "| variable | flag | default | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
  ]
    .join("\n");
}
