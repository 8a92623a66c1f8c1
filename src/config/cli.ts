// Commander glue: flags generated from the settings table, raw values handed to
// the pure resolver with the real environment.

import { Option } from "commander";
import type { CliCommand } from "../help_layout.ts";
import { type SettingDef, type SettingKey, SETTINGS } from "./settings.ts";
import { type Resolved, resolveSettings } from "./resolve.ts";
import { helpDefault } from "./table.ts";

/** Adds one flag per setting, its help naming the variable and the default. */
export function addSettingOptions(
  cmd: CliCommand,
  keys: readonly SettingKey[],
): CliCommand {
  for (const key of keys) {
    const def = SETTINGS[key] as SettingDef<unknown>;
    const aliases = def.envAliases?.length
      ? ` or ${def.envAliases.join(", ")}`
      : "";
    const option = new Option(
      `--${def.flag}${def.arg ? ` ${def.arg}` : ""}`,
      `${def.description}\n[env ${def.env}${aliases}; default ${
        helpDefault(def)
      }]`,
    );
    option.attributeName = () => key;
    cmd.addOption(option);
  }
  return cmd;
}

function fileReadable(path: string): boolean {
  try {
    if (!Deno.statSync(path).isFile) return false;
    Deno.openSync(path, { read: true }).close();
    return true;
  } catch {
    return false;
  }
}

/** Resolves the settings of a parsed command from its flags and the process environment. */
export function readConfig<K extends SettingKey>(
  cmd: CliCommand,
  keys: readonly K[],
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Resolved<K> {
  const opts = cmd.opts() as Record<string, unknown>;
  const flags: Partial<Record<SettingKey, string>> = {};
  for (const key of keys) {
    const value = opts[key];
    if (value !== undefined) flags[key] = String(value);
  }
  return resolveSettings(keys, { env, flags, fileReadable });
}
