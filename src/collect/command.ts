// `hodometer collect`: one snapshot, printed as the exact event that would be
// published. Sends nothing.

import type { CommandContext } from "../commands.ts";
import { logger } from "../log/setup.ts";
import { buildEvent, newInsertId, type TrackEvent } from "../publish/event.ts";
import { filterByLevel } from "./catalogue.ts";
import { COLLECT_KEYS } from "./keys.ts";
import { takeCollection } from "./take.ts";

type CollectKey = typeof COLLECT_KEYS[number];

export async function collectCommand(
  ctx: CommandContext<CollectKey>,
): Promise<number> {
  const { config } = ctx;
  const log = logger("collect");
  const collection = await takeCollection(config, {
    env: Deno.env.toObject(),
    log,
  });
  const clusterId = config.clusterId ?? crypto.randomUUID();
  const event = buildEvent({
    snapshot: filterByLevel(
      { cluster_id: clusterId, ...collection.snapshot },
      config.metricsLevel,
    ),
    clusterId,
    token: config.token,
    timeMs: Date.now(),
    insertId: newInsertId(),
  });
  console.log(formatEvent(event, ctx.switches.compact === true));
  return 0;
}

export function formatEvent(event: TrackEvent, compact: boolean): string {
  return compact ? JSON.stringify(event) : JSON.stringify(event, null, 2);
}
