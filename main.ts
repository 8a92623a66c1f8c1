// hodometer: parse the command line, resolve settings, dispatch to a subcommand.

import { CommanderError } from "commander";
import { EXIT } from "./src/exit_codes.ts";
import { stdoutHelpWidth } from "./src/help_layout.ts";
import { createProgram } from "./src/program.ts";

async function main(args: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = createProgram(stdoutHelpWidth(), (code) => exitCode = code);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    // Help and --version end parsing with status 0; every other stop is a
    // usage error, already said.
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  return exitCode;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
