// The five scheduler sources: each drains one rpc into its tally. A source
// that fails reports nothing but its error: a stream cut off mid-way never
// yields a partial count.

import { Metadata } from "@grpc/grpc-js";
import { CATALOGUE, includedAt, type Snapshot } from "../metrics/catalogue.ts";
import type { MetricSource } from "../metrics/catalogue.ts";
import type { Source, SourceResult } from "../metrics/source.ts";
import type { MetricsLevel } from "../config/levels.ts";
import {
  type CallOutcome,
  drain,
  type MessageStream,
  type RetryPolicy,
  type SchedulerClient,
  SUBSCRIBER_NAME,
  unary,
  withRetries,
} from "./scheduler_client.ts";
import {
  ExperimentTally,
  ModelTally,
  PipelineTally,
  SchedulerServerTally,
} from "../metrics/scheduler_rules.ts";
import { sanitizeVersion } from "../metrics/version_string.ts";

/** Which scheduler sources are made, and how long each may take. */
export interface SchedulerSourceOptions {
  /** Only sources with a metric reported at this level are made. */
  level: MetricsLevel;
  /** Each source, retries included, ends within this time. */
  timeoutMs: number;
  /** Backoff settings for tests; the deadline comes from timeoutMs. */
  retry?: Omit<RetryPolicy, "deadline">;
  /** Milliseconds since the epoch, for the deadlines; Date.now unless a test gives its own. */
  now?: () => number;
}

interface Tally {
  snapshot(): Snapshot;
}

/**
 * The scheduler's sources of metrics, one per call (status, servers, models,
 * pipelines, experiments), those with no metric at the level left out. Each
 * retries an unreachable scheduler within its timeout and counts from
 * nothing on each attempt; it reports its counts whole or not at all.
 */
export function schedulerSources(
  client: SchedulerClient,
  options: SchedulerSourceOptions,
): Source[] {
  const now = options.now ?? Date.now;
  const wanted = (source: MetricSource) =>
    CATALOGUE.some((m) => m.source === source && includedAt(m, options.level));
  const policy = (): RetryPolicy => ({
    ...options.retry,
    now,
    deadline: now() + options.timeoutMs,
  });

  const streamSource = <T, A extends Tally & { add(m: T): void }>(
    name: MetricSource,
    newTally: () => A,
    start: (deadline: Date) => MessageStream<T>,
  ): Source => ({
    name,
    read: async (signal) => {
      let tally = newTally();
      const outcome = await withRetries(
        (deadline) => {
          tally = newTally();
          return drain(start(deadline), (m) => tally.add(m), signal);
        },
        policy(),
        signal,
      );
      return result(name, outcome, () => tally.snapshot(), options.level);
    },
  });

  const sources: Source[] = [];
  if (wanted("scheduler status")) {
    sources.push({
      name: "scheduler status",
      read: async (signal) => {
        let version: unknown;
        const outcome = await withRetries(
          async (deadline) => {
            const answer = await unary<{ applicationVersion: string }>(
              (cb) =>
                client.schedulerStatus(
                  { subscriberName: SUBSCRIBER_NAME },
                  new Metadata(),
                  { deadline },
                  cb,
                ),
              signal,
            );
            if ("error" in answer) return answer.error;
            version = answer.response.applicationVersion;
            return null;
          },
          policy(),
          signal,
        );
        const kept = sanitizeVersion(version);
        const res = result(
          "scheduler status",
          outcome,
          () => kept === undefined ? {} : { seldon_core_version: kept },
          options.level,
        );
        if (outcome.ok && kept === undefined) {
          res.warnings = [
            "scheduler status: the scheduler reported no version-like applicationVersion; seldon_core_version omitted",
          ];
        }
        return res;
      },
    });
  }
  const sub = { subscriberName: SUBSCRIBER_NAME };
  if (wanted("scheduler servers")) {
    sources.push(streamSource(
      "scheduler servers",
      () => new SchedulerServerTally(),
      (deadline) => client.serverStatus(sub, { deadline }),
    ));
  }
  if (wanted("scheduler models")) {
    sources.push(streamSource(
      "scheduler models",
      () => new ModelTally(),
      (deadline) =>
        client.modelStatus({ ...sub, allVersions: false }, { deadline }),
    ));
  }
  if (wanted("scheduler pipelines")) {
    sources.push(streamSource(
      "scheduler pipelines",
      () => new PipelineTally(),
      // Latest version only, as Go asks (collect.go:317-321).
      (deadline) =>
        client.pipelineStatus({ ...sub, allVersions: false }, { deadline }),
    ));
  }
  if (wanted("scheduler experiments")) {
    sources.push(streamSource(
      "scheduler experiments",
      () => new ExperimentTally(),
      (deadline) => client.experimentStatus(sub, { deadline }),
    ));
  }
  return sources;
}

function result(
  name: MetricSource,
  outcome: CallOutcome,
  snapshot: () => Snapshot,
  level: MetricsLevel,
): SourceResult {
  if (outcome.ok) return { snapshot: snapshot() };
  const tries = outcome.attempts > 1
    ? ` (after ${outcome.attempts} attempts)`
    : "";
  const lost = CATALOGUE
    .filter((m) => m.source === name && includedAt(m, level))
    .map((m) => m.name);
  // grpc-js appends an empty "Resolution note" to connection failures.
  const details = outcome.details.replace(/\.?\s*Resolution note:\s*$/, "");
  return {
    snapshot: {},
    error: `${name}: ${outcome.status}: ${details}${tries}; ${
      lost.join(", ")
    } omitted`,
  };
}
