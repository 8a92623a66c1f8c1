// What a hodometer command line may hold, from the same tables main.ts builds
// its parser from: the README, docs/ and the Kubernetes manifests are checked against
// it, so neither can show an option that does not exist.

import { COMMANDS } from "../src/commands.ts";
import {
  COMMON_KEYS,
  type SettingDef,
  type SettingKey,
  SETTINGS,
} from "../src/config/settings.ts";
import { nth } from "./assert.ts";

/** Every option `hodometer <name>` accepts, with its dashes. */
export function knownOptions(name: string): Set<string> | undefined {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return undefined;
  return new Set([
    "--help",
    ...[...COMMON_KEYS, ...command.keys].map((k) => `--${SETTINGS[k].flag}`),
    ...(command.switches ?? []).map((s) => nth(s.flags.split(/[ ,]/), 0)),
  ]);
}

export interface SplitCommandLine {
  /** The settings the command's keys, with their raw values, as main.ts reads them. */
  keys: SettingKey[];
  flags: Partial<Record<SettingKey, string>>;
  /** What the command does not accept, or a setting flag without its value. */
  errors: string[];
}

/**
 * Splits `[subcommand, ...options]` into raw setting values by key
 * (`--flag value` and `--flag=value`), for resolveSettings.
 */
export function splitCommandLine(args: readonly string[]): SplitCommandLine {
  const [name, ...rest] = args;
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    return { keys: [], flags: {}, errors: [`unknown command ${name}`] };
  }
  const keys: SettingKey[] = [...COMMON_KEYS, ...command.keys];
  const byFlag = new Map<string, SettingKey>(
    keys.map((k) => [`--${SETTINGS[k].flag}`, k]),
  );
  const switches = new Set(
    (command.switches ?? []).map((s) => s.flags.split(/[ ,]/)[0]),
  );
  const flags: Partial<Record<SettingKey, string>> = {};
  const errors: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const [option = "", inline] = nth(rest, i).split(/=(.*)/s, 2);
    const key = byFlag.get(option);
    if (key === undefined) {
      if (!option.startsWith("-")) {
        errors.push(`hodometer ${name} takes no argument ${option}`);
      } else if (!switches.has(option)) {
        errors.push(`hodometer ${name} has no option ${option}`);
      }
      continue;
    }
    const takesValue = (SETTINGS[key] as SettingDef<unknown>).arg !== undefined;
    const value = !takesValue ? "true" : inline ?? rest[++i];
    if (value === undefined) errors.push(`${option} needs a value`);
    else flags[key] = value;
  }
  return { keys, flags, errors };
}
