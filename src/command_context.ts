// What a subcommand's code is given by the command line: its settings and
// switches. Kept apart from the registry (commands.ts), which loads the
// command modules, so that they never import it back.

import type { COMMON_KEYS, Config, SettingKey } from "./config/settings.ts";

/** A setting every subcommand takes (the log level and format). */
export type CommonKey = typeof COMMON_KEYS[number];

/** What a subcommand runs with: its resolved settings and its switches. */
export interface CommandContext<K extends SettingKey> {
  /** The command's settings and the common ones, resolved and valid. */
  config: Config<K | CommonKey>;
  /** Values of the switches (flags that are not settings), by camelCase name. */
  switches: Record<string, boolean | string | undefined>;
}

/** A flag that is not a setting (no variable, no default), e.g. `--once`. */
export interface Switch {
  /** As commander takes it, e.g. `--once` or `--format <name>`. */
  flags: string;
  /** One line for `--help`. */
  description: string;
}
