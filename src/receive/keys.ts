// The settings of `hodometer receive`, apart from its code so the command
// registry lists them without loading the receiver.

/** The settings `hodometer receive` reads, by their keys in the settings table. */
export const RECEIVE_KEYS = [
  "listenHost",
  "listenPort",
  "recordLevel",
  "maxEvents",
  "maxEventsBytes",
  "stateDir",
  "store",
  "retentionMs",
  "acceptedTokens",
  "readToken",
  "readTokenFile",
  "headerTimeoutMs",
  "bodyTimeoutMs",
  "idleTimeoutMs",
  "gracePeriodMs",
  "maxConnections",
  "maxBodyBytes",
  "maxClusters",
] as const;
