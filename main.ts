// hodometer: parse the command line, resolve settings, dispatch to a subcommand.

import { Command, CommanderError } from "commander";
import { COMMANDS, COMMON_KEYS } from "./src/commands.ts";
import { addSettingOptions, readConfig } from "./src/config/cli.ts";
import { logger, setupLogging } from "./src/log/setup.ts";
import { EXIT_CONFIG } from "./src/exit_codes.ts";

export { EXIT_CONFIG };

async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command("hodometer")
    .description("Privacy-first usage telemetry agent for Seldon Core 2")
    .exitOverride()
    .showHelpAfterError();

  for (const command of COMMANDS) {
    const keys = [...COMMON_KEYS, ...command.keys];
    const sub = program.command(command.name).description(command.summary);
    addSettingOptions(sub, keys);
    for (const s of command.switches ?? []) sub.option(s.flags, s.description);
    sub.action(async () => {
      const resolved = readConfig(sub, keys);
      if (!resolved.ok) {
        for (const line of resolved.errors) {
          console.error(`hodometer ${command.name}: ${line}`);
        }
        for (const line of resolved.warnings) {
          console.error(`hodometer ${command.name}: ${line}`);
        }
        exitCode = EXIT_CONFIG;
        return;
      }
      const { config } = resolved;
      setupLogging({ level: config.logLevel, format: config.logFormat });
      for (const line of resolved.warnings) logger("config").warn(line);
      const switches = sub.opts() as Record<
        string,
        boolean | string | undefined
      >;
      exitCode = await command.run({ config, switches });
    });
  }

  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      const benign = ["commander.helpDisplayed", "commander.version"];
      return benign.includes(err.code) ? 0 : EXIT_CONFIG;
    }
    throw err;
  }
  return exitCode;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
