// Every Deno runtime a test or a script starts (hodometer as shipped, the
// receiver, the scheduler double, `deno info`, the benchmark's processes) is
// started here, with an environment that keeps it on the machine: `deno run`
// otherwise asks dl.deno.land for a newer Deno once a day, and at every start
// where that cannot be reached (Deno's DENO_NO_UPDATE_CHECK; a compiled
// binary's runtime has no such check). The loopback check
// (scripts/loopback_check.ts) runs the tests without the variable, so a Deno
// started any other way is caught.

/** What every Deno runtime started by a test or a script has in its environment. */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  DENO_NO_UPDATE_CHECK: "1",
};

/**
 * A command that runs this Deno (Deno.execPath()) with `options`, RUNTIME_ENV
 * added to its environment (`options.env` wins for anything else it sets).
 */
export function denoCommand(options: Deno.CommandOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    ...options,
    env: { ...options.env, ...RUNTIME_ENV },
  });
}
