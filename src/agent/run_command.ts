// `hodometer run`: collect and publish now, then every interval, until
// SIGTERM or SIGINT; `--once` for a single cycle.

import type { CommandContext } from "../command_context.ts";
import { EXIT } from "../exit_codes.ts";
import { logger } from "../log/setup.ts";
import { stopOnSignals } from "../runtime/stop_signals.ts";
import { sleep } from "../runtime/delay.ts";
import {
  type DeliveryResult,
  stoppedBeforeDelivery,
} from "../publish/deliver.ts";
import { publishEvent, type Snapshotter, takeSnapshot } from "./cycle.ts";
import type { RUN_KEYS } from "./keys.ts";
import { runLoop } from "./run_loop.ts";
import { publishTargets } from "../publish/targets.ts";
import { redactUrl, requestedUrl } from "../publish/url.ts";
import { formatDuration } from "../config/parsers.ts";
import { checkSources } from "../collect/open_sources.ts";
import { limitWatch, startWithLimit } from "./memory_limit.ts";

/** A setting `hodometer run` takes: collect's, publish's and the interval. */
export type RunKey = typeof RUN_KEYS[number];

/**
 * `hodometer run`: collects and publishes now, then every interval until
 * SIGTERM or SIGINT (with `--once`, one cycle). Resolves to the exit status
 * (EXIT_STATUSES.run says each).
 */
export async function runCommand(ctx: CommandContext<RunKey>): Promise<number> {
  const { config } = ctx;
  const once = ctx.switches.once === true;
  const log = logger("run");
  const stop = stopOnSignals(() => log.info("stopping"));
  try {
    const env = Deno.env.toObject();
    const check = await checkSources(config, env);
    if (check.fatal) {
      console.error(`hodometer run: ${check.fatal}`);
      return EXIT.usage;
    }
    for (const warning of check.warnings) log.warn("{warning}", { warning });
    const { urls, skippedSeldon } = publishTargets(config);
    if (skippedSeldon) {
      log.info(
        "DO_NOT_TRACK is set: nothing goes to {url}; extra URLs still receive events",
        { url: redactUrl(config.publishUrl) },
      );
    }
    if (urls.length === 0) {
      log.warn(
        "nothing to publish to (DO_NOT_TRACK is set and EXTRA_PUBLISH_URLS is empty); idle until stopped",
      );
      if (!once) await aborted(stop.signal);
      return EXIT.ok;
    }
    log.info(
      once
        ? "one cycle at level {level}, publishing to {targets}"
        : "collecting every {interval} (±5%) at level {level}, publishing to {targets}",
      {
        level: config.metricsLevel,
        interval: formatDuration(config.intervalMs),
        targets: urls.map(requestedUrl).join(", "),
      },
    );

    const memoryLimitBytes = await startWithLimit(log);
    const watchLimit = limitWatch(memoryLimitBytes, log);
    const state: Snapshotter = {};
    let last: DeliveryResult[] = [];
    const cycle = async (n: number) => {
      const { event, collection } = await takeSnapshot(config, state, {
        env,
        log,
        signal: stop.signal,
        memoryLimitBytes,
      });
      watchLimit(collection.heapPeakBytes);
      last = stop.signal.aborted
        ? stoppedBeforeDelivery(urls)
        : await publishEvent(event, urls, {
          attemptTimeoutMs: config.publishTimeoutMs,
          signal: stop.signal,
          logger: logger("publish"),
        });
      const delivered = last.filter((r) => r.delivered).length;
      const props = {
        n,
        insertId: event.properties.$insert_id,
        delivered,
        total: urls.length,
      };
      if (delivered === urls.length) {
        log.info(
          "cycle {n}: event {insertId} delivered to {delivered} of {total} URL(s)",
          props,
        );
      } else {
        log.warn(
          stop.signal.aborted
            ? "cycle {n} stopped: event {insertId} delivered to {delivered} of {total} URL(s)"
            : "cycle {n}: event {insertId} delivered to {delivered} of {total} URL(s)",
          props,
        );
      }
    };

    if (once) {
      await cycle(1);
      return last.every((r) => r.delivered) ? EXIT.ok : EXIT.failed;
    }
    // A full collection between cycles keeps the agent's memory flat: V8
    // sizes its heap from the host's RAM, not the pod's limit (needs the
    // --expose-gc V8 flag the binary and the tasks are run with).
    const collectGarbage = (globalThis as { gc?: () => void }).gc;
    const cycles = await runLoop(async (n) => {
      await cycle(n);
      collectGarbage?.();
    }, {
      intervalMs: config.intervalMs,
      signal: stop.signal,
      sleep,
      onSkipped: (ticks) =>
        log.warn(
          "the last cycle outlasted the interval: {ticks} scheduled cycle(s) skipped",
          { ticks },
        ),
    });
    log.info("stopped after {cycles} cycle(s)", { cycles });
    // Stopped between cycles is a normal stop; stopped in the middle of one
    // left its event undelivered somewhere.
    return last.some((r) => r.aborted) ? EXIT.failed : EXIT.ok;
  } finally {
    stop.dispose();
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
