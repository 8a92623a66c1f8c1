// The subcommands: their settings, switches and a lazy loader, so each one pulls in
// only the code (and memory) it needs.

import type { CommandContext, Switch } from "./command_context.ts";
import type { SettingKey } from "./config/settings.ts";
import { EXIT } from "./exit_codes.ts";
import { PUBLISH_KEYS, RUN_KEYS } from "./agent/keys.ts";
import { RECEIVE_KEYS } from "./receive/keys.ts";

/** One subcommand as the command line builds it. */
export interface CommandSpec<K extends SettingKey = SettingKey> {
  /** What follows `hodometer`, e.g. `run`. */
  name: string;
  /** One line for `--help`. */
  summary: string;
  /** The settings it takes (beside the common ones): its flags and variables. */
  keys: readonly K[];
  /** Its flags that are not settings. */
  switches?: readonly Switch[];
  /** Runs the command with its resolved settings; resolves to its exit status. */
  run: (ctx: CommandContext<K>) => Promise<number>;
}

const spec = <K extends SettingKey>(
  s: CommandSpec<K>,
): CommandSpec<SettingKey> => s as unknown as CommandSpec<SettingKey>;

/** Every subcommand, in the order `--help` lists them. */
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
      (await import("./agent/run_command.ts")).runCommand(ctx),
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
      (await import("./agent/collect_command.ts")).collectCommand(ctx),
  }),
  spec({
    name: "metrics",
    summary: "list every metric hodometer can report: level, type, meaning",
    keys: [],
    switches: [
      { flags: "--json", description: "print the catalogue as JSON" },
    ],
    run: async (ctx) => {
      const { metricsText } = await import("./agent/metrics_command.ts");
      console.log(metricsText(ctx.switches.json === true));
      return EXIT.ok;
    },
  }),
  spec({
    name: "receive",
    summary: "run a Mixpanel-compatible receiver for hodometer events",
    keys: RECEIVE_KEYS,
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
