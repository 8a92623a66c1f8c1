// `hodometer collect`: one snapshot, printed as the exact event that would be
// published. A dry run: it sends nothing and keeps nothing (no cluster id is
// created) unless `--publish`, which sends that event and keeps the id as
// `run` does. Exits non-zero when a source failed, so it serves as a
// connectivity check.

import type { CommandContext } from "../command_context.ts";
import { EXIT } from "../exit_codes.ts";
import { logger } from "../log/setup.ts";
import type { TrackEvent } from "../publish/event.ts";
import type { PUBLISH_KEYS } from "./keys.ts";
import { stopOnSignals } from "../runtime/stop_signals.ts";

/** A setting `hodometer collect` takes: a snapshot's, and publishing's for `--publish`. */
export type CollectKey = typeof PUBLISH_KEYS[number];

/**
 * `hodometer collect`: takes one snapshot, prints the event it makes (JSON,
 * on one line with `--compact`) and, with `--publish`, delivers it. Resolves
 * to the exit status (EXIT_STATUSES.collect says each), so that it serves as
 * a connectivity check.
 */
export async function collectCommand(
  ctx: CommandContext<CollectKey>,
): Promise<number> {
  const { config } = ctx;
  const log = logger("collect");
  const publish = ctx.switches.publish === true;
  const env = Deno.env.toObject();
  const { checkSources } = await import("../collect/open_sources.ts");
  const check = await checkSources(config, env);
  if (check.fatal) {
    console.error(`hodometer collect: ${check.fatal}`);
    return EXIT.usage;
  }
  for (const warning of check.warnings) log.warn("{warning}", { warning });
  const { takeSnapshot, publishEvent } = await import("./cycle.ts");
  const { limitWatch, startWithLimit } = await import("./memory_limit.ts");
  const memoryLimitBytes = await startWithLimit(log);
  const { publishTargets } = await import("../publish/targets.ts");
  const { stoppedBeforeDelivery } = await import("../publish/deliver.ts");
  const urls = publish ? publishTargets(config).urls : [];
  // Only a publishing collect has something to say when stopped: which URLs
  // did not get the event.
  const stop = publish ? stopOnSignals(() => log.info("stopping")) : undefined;
  try {
    const { event, collection, identity } = await takeSnapshot(config, {}, {
      env,
      log,
      signal: stop?.signal,
      persistId: publish,
      memoryLimitBytes,
    });
    limitWatch(memoryLimitBytes, log)(collection.heapPeakBytes);
    if (stop?.signal.aborted) {
      stoppedBeforeDelivery(urls);
      return EXIT.failed;
    }
    console.log(formatEvent(event, ctx.switches.compact === true));
    if (identity.origin === "temporary") {
      log.info(
        "no cluster id is kept yet, so this dry run shows a temporary one; `hodometer run` (or collect --publish) creates one and keeps it in {place}",
        { place: identity.wouldKeepIn },
      );
    }
    const collected = collection.failures.length === 0
      ? EXIT.ok
      : EXIT.sourceFailed;
    if (!publish) return collected;

    if (urls.length === 0) {
      log.warn(
        "nothing to publish to: DO_NOT_TRACK is set and EXTRA_PUBLISH_URLS is empty",
      );
      return collected;
    }
    const results = await publishEvent(event, urls, {
      attemptTimeoutMs: config.publishTimeoutMs,
      signal: stop?.signal,
      logger: logger("publish"),
    });
    return results.every((r) => r.delivered) ? collected : EXIT.failed;
  } finally {
    stop?.dispose();
  }
}

function formatEvent(event: TrackEvent, compact: boolean): string {
  return compact ? JSON.stringify(event) : JSON.stringify(event, null, 2);
}
