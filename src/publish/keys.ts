// The settings of the publishing commands, apart from their code so the
// command registry lists them without loading it.

import { COLLECT_KEYS } from "../collect/keys.ts";

export const PUBLISH_KEYS = [
  ...COLLECT_KEYS,
  "publishUrl",
  "extraPublishUrls",
  "doNotTrack",
  "publishTimeoutMs",
] as const;

export const RUN_KEYS = [...PUBLISH_KEYS, "intervalMs"] as const;
