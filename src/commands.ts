// The subcommands: their settings, switches and a lazy loader, so each one pulls in
// only the code (and memory) it needs.

import type { Config, SettingKey } from "./config/settings.ts";
import { COMMON_KEYS } from "./config/settings.ts";
import { EXIT } from "./exit_codes.ts";
import { PUBLISH_KEYS, RUN_KEYS } from "./publish/keys.ts";

type CommonKey = typeof COMMON_KEYS[number];

export interface CommandContext<K extends SettingKey> {
  config: Config<K | CommonKey>;
  /** Values of the switches (flags that are not settings), by camelCase name. */
  switches: Record<string, boolean | string | undefined>;
}

export interface Switch {
  flags: string;
  description: string;
}

export interface CommandSpec<K extends SettingKey = SettingKey> {
  name: string;
  summary: string;
  keys: readonly K[];
  switches?: readonly Switch[];
  /** Whether log lines and config warnings are emitted (false for pure-output commands). */
  run: (ctx: CommandContext<K>) => Promise<number>;
}

const spec = <K extends SettingKey>(
  s: CommandSpec<K>,
): CommandSpec<SettingKey> => s as unknown as CommandSpec<SettingKey>;

export const COMMANDS: readonly CommandSpec[] = [
  spec({
    name: "run",
    summary:
      "collect and publish now, then every interval, until SIGTERM or SIGINT",
    keys: RUN_KEYS,
    switches: [
      {
        flags: "--once",
        description:
          "one cycle; exit 0 when every URL got the event, 1 otherwise",
      },
    ],
    run: async (ctx) =>
      (await import("./publish/run_command.ts")).runCommand(ctx),
  }),
  spec({
    name: "collect",
    summary:
      "take one snapshot and print the exact event that would be published; a dry run that sends and keeps nothing unless --publish",
    keys: PUBLISH_KEYS,
    switches: [
      { flags: "--compact", description: "print the event on one line" },
      {
        flags: "--publish",
        description:
          "also send the printed event and keep the cluster id, as `run` does; exit 1 unless every URL got it",
      },
    ],
    run: async (ctx) =>
      (await import("./collect/command.ts")).collectCommand(ctx),
  }),
  spec({
    name: "metrics",
    summary: "list every metric hodometer can report: level, type, meaning",
    keys: [],
    switches: [
      { flags: "--json", description: "print the catalogue as JSON" },
    ],
    run: async (ctx) => {
      const { metricsText } = await import("./collect/metrics_command.ts");
      console.log(metricsText(ctx.switches.json === true));
      return EXIT.ok;
    },
  }),
  spec({
    name: "receive",
    summary: "run a Mixpanel-compatible receiver for hodometer events",
    keys: [
      "listenHost",
      "listenPort",
      "recordLevel",
      "maxEvents",
      "maxEventsBytes",
      "stateDir",
      "store",
      "retentionMs",
      "acceptedTokens",
      "readToken",
      "readTokenFile",
      "bodyTimeoutMs",
      "gracePeriodMs",
      "maxBodyBytes",
      "maxClusters",
    ],
    run: async (ctx) =>
      (await import("./receive/command.ts")).receiveCommand(ctx),
  }),
  spec({
    name: "version",
    summary: "print the collector version, git commit and runtime",
    keys: [],
    run: async () => {
      const { versionText } = await import("./version.ts");
      console.log(versionText());
      return EXIT.ok;
    },
  }),
];

export { COMMON_KEYS };
