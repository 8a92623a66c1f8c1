// `hodometer collect`: one snapshot, printed as the exact event that would be
// published. Sends nothing unless `--publish`.

import type { CommandContext } from "../commands.ts";
import { logger } from "../log/setup.ts";
import { EXIT_CONFIG } from "../exit_codes.ts";
import type { TrackEvent } from "../publish/event.ts";
import type { PUBLISH_KEYS } from "../publish/keys.ts";

type CollectKey = typeof PUBLISH_KEYS[number];

export async function collectCommand(
  ctx: CommandContext<CollectKey>,
): Promise<number> {
  const { config } = ctx;
  const log = logger("collect");
  const env = Deno.env.toObject();
  const { checkSources } = await import("./open_sources.ts");
  const check = await checkSources(config, env);
  if (check.fatal) {
    console.error(`hodometer collect: ${check.fatal}`);
    return EXIT_CONFIG;
  }
  for (const warning of check.warnings) log.warn("{warning}", { warning });
  const { takeSnapshot, publishEvent } = await import("../publish/cycle.ts");
  const { event } = await takeSnapshot(config, {}, { env, log });
  console.log(formatEvent(event, ctx.switches.compact === true));
  if (ctx.switches.publish !== true) return 0;

  const { publishTargets } = await import("../publish/targets.ts");
  const { urls } = publishTargets(config);
  if (urls.length === 0) {
    log.warn(
      "nothing to publish to: DO_NOT_TRACK is set and EXTRA_PUBLISH_URLS is empty",
    );
    return 0;
  }
  const results = await publishEvent(event, urls, {
    attemptTimeoutMs: config.publishTimeoutMs,
    logger: logger("publish"),
  });
  return results.every((r) => r.delivered) ? 0 : 1;
}

export function formatEvent(event: TrackEvent, compact: boolean): string {
  return compact ? JSON.stringify(event) : JSON.stringify(event, null, 2);
}
