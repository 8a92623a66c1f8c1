// The command line: every subcommand with its settings (flags generated from
// the settings table), switches, help and exit statuses.

import { Command } from "commander";
import { COMMANDS } from "./commands.ts";
import { addSettingOptions, readConfig } from "./config/cli.ts";
import { COMMON_KEYS } from "./config/settings.ts";
import { EXIT, EXIT_SUMMARY, exitStatuses } from "./exit_codes.ts";
import {
  briefErrors,
  type CliCommand,
  formatHelpSection,
  useHelpLayout,
} from "./help_layout.ts";
import { logger, setupLogging } from "./log/setup.ts";
import { versionText } from "./version.ts";

/**
 * The command line: every subcommand with its settings, switches, help laid
 * out in `width` columns and exit statuses; `done` gets a command's status.
 * Parsing throws commander's CommanderError after help, `--version` or a
 * usage error (already said on stderr); main.ts turns that into the status.
 *
 * @example
 * ```ts
 * import { createProgram } from "./program.ts";
 *
 * let status: number | undefined;
 * const program = createProgram(100, (code) => status = code);
 * await program.parseAsync(["version"], { from: "user" }); // prints the version
 * console.log(status); // 0
 * ```
 */
export function createProgram(
  width: number,
  done: (code: number) => void,
): CliCommand {
  const exitHelp = (items: readonly (readonly [number, string])[]) =>
    `\n${
      formatHelpSection(
        "Exit status:",
        items.map(([code, text]) => [String(code), text] as const),
        width,
      )
    }\n`;
  const program = useHelpLayout(new Command("hodometer"), width)
    .description("Privacy-first usage telemetry agent for Seldon Core 2")
    .version(
      versionText(),
      "-V, --version",
      "print the version, git commit and runtime",
    )
    .exitOverride()
    .addHelpText("after", exitHelp(EXIT_SUMMARY));
  briefErrors(program, "hodometer");

  for (const command of COMMANDS) {
    const keys = [...COMMON_KEYS, ...command.keys];
    const sub = program.command(command.name).description(command.summary);
    briefErrors(sub, `hodometer ${command.name}`);
    addSettingOptions(sub, keys);
    for (const s of command.switches ?? []) sub.option(s.flags, s.description);
    sub.addHelpText("after", exitHelp(exitStatuses(command.name)));
    sub.action(async () => {
      const resolved = readConfig(sub, keys);
      if (!resolved.ok) {
        for (const line of resolved.errors) {
          console.error(`hodometer ${command.name}: ${line}`);
        }
        for (const line of resolved.warnings) {
          console.error(`hodometer ${command.name}: ${line}`);
        }
        done(EXIT.usage);
        return;
      }
      const { config } = resolved;
      setupLogging({ level: config.logLevel, format: config.logFormat });
      // As a value, not a template: a setting's text may hold "{…}".
      for (const line of resolved.warnings) {
        logger("config").warn("{warning}", { warning: line });
      }
      const switches = sub.opts() as Record<
        string,
        boolean | string | undefined
      >;
      done(await command.run({ config, switches }));
    });
  }
  return program;
}
