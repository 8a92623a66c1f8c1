// The settings of the agent's commands, apart from their code so the command
// registry lists them without loading it (or gRPC).

import { SOURCE_KEYS } from "../collect/keys.ts";

/** What one snapshot reads: its sources, and where the cluster id comes from. */
export const COLLECT_KEYS = [
  ...SOURCE_KEYS,
  "clusterId",
  "stateDir",
  "token",
] as const;

/** `collect`, which may publish (`--publish`). */
export const PUBLISH_KEYS = [
  ...COLLECT_KEYS,
  "publishUrl",
  "extraPublishUrls",
  "doNotTrack",
  "publishTimeoutMs",
] as const;

/** `run`: publishing, every interval. */
export const RUN_KEYS = [...PUBLISH_KEYS, "intervalMs"] as const;
