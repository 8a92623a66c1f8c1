// Pure resolution of settings: flag, else environment, else default.
// Every bad value is reported, not only the first.

import {
  type Config,
  type Env,
  type SettingDef,
  type SettingKey,
  SETTINGS,
} from "./settings.ts";

/** Where settings come from: flags, the environment, and a file check. */
export interface ResolveInput {
  /** The process environment (or a test's). */
  env: Env;
  /** Raw flag values by setting key; a boolean switch given on the command line is `"true"`. */
  flags: Partial<Record<SettingKey, string>>;
  /** Whether a path names a readable file (injected so resolution stays pure). */
  fileReadable: (path: string) => boolean;
}

/**
 * The settings asked for, all valid, or every error found; warnings either
 * way (a value dropped or adjusted, said but not fatal).
 */
export type Resolved<K extends SettingKey> =
  | { ok: true; config: Config<K>; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

interface RawValue {
  raw: string;
  /** The variable the value stands for, and how it was given when not by that variable. */
  name: string;
  via: string;
}

function rawValue(
  key: SettingKey,
  def: SettingDef<unknown>,
  input: ResolveInput,
): RawValue | null {
  const flag = input.flags[key];
  if (flag !== undefined) {
    return { raw: flag, name: def.env, via: ` (given as --${def.flag})` };
  }
  for (const name of [def.env, ...(def.envAliases ?? [])]) {
    const value = input.env[name];
    if (value !== undefined && value.trim() !== "") {
      return { raw: value, name, via: "" };
    }
  }
  return null;
}

/**
 * The value of each setting in `keys`: its flag, else its variable (or an
 * alias), else its default; parsed, with every bad value reported, and files
 * that other settings make necessary checked for being readable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveSettings } from "./resolve.ts";
 *
 * const resolved = resolveSettings(["metricsLevel", "publishTimeoutMs"], {
 *   env: { METRICS_LEVEL: "Cluster" },
 *   flags: { publishTimeoutMs: "30s" },
 *   fileReadable: () => false,
 * });
 * assert.ok(resolved.ok);
 * assert.equal(resolved.config.metricsLevel, "cluster");
 * assert.equal(resolved.config.publishTimeoutMs, 30_000);
 * ```
 */
export function resolveSettings<K extends SettingKey>(
  keys: readonly K[],
  input: ResolveInput,
): Resolved<K> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const config: Record<string, unknown> = {};
  const given: Partial<Record<SettingKey, string>> = {};
  for (const key of keys) {
    const def = SETTINGS[key] as SettingDef<unknown>;
    const fallback = typeof def.default === "function"
      ? (def.default as (env: Env) => unknown)(input.env)
      : def.default;
    const found = rawValue(key, def, input);
    if (found === null) {
      config[key] = fallback;
      continue;
    }
    const shown = def.secret ? "(hidden)" : JSON.stringify(found.raw);
    given[key] = `${found.name}=${shown}${found.via}`;
    const parsed = def.parse(found.raw);
    if (!parsed.ok) {
      const line = `${given[key]} is not valid: expected ${parsed.accepted}`;
      if (def.warnOnly) {
        warnings.push(line);
        config[key] = fallback;
      } else {
        errors.push(line);
      }
      continue;
    }
    if (parsed.warning) warnings.push(`${given[key]} ${parsed.warning}`);
    config[key] = parsed.value;
  }
  // Files are checked once every setting is known: whether one is read at
  // all can depend on others (TLS files only with SSL, secrets win).
  for (const key of keys) {
    const def = SETTINGS[key] as SettingDef<unknown>;
    const path = config[key];
    if (!def.neededFile || typeof path !== "string" || !given[key]) continue;
    const why = def.neededFile(config);
    if (why !== undefined && !input.fileReadable(path)) {
      errors.push(
        `${
          given[key]
        } is not valid: expected a readable file, since ${why}; it is missing or unreadable`,
      );
    }
  }
  return errors.length > 0
    ? { ok: false, errors, warnings }
    : { ok: true, config: config as Config<K>, warnings };
}
