import type { CommandContext } from "../commands.ts";

export function receiveCommand(
  _ctx: CommandContext<
    "listenHost" | "listenPort" | "recordLevel" | "maxEvents"
  >,
): Promise<number> {
  console.error("hodometer receive: not built yet");
  return Promise.resolve(1);
}
