// Which URLs receive the event, honouring the DO_NOT_TRACK convention: Seldon's
// PUBLISH_URL is skipped, the user's own extra URLs still receive events.

import { trackUrl } from "./url.ts";

/** The settings that say where events go. */
export interface TargetSettings {
  /** PUBLISH_URL: Seldon's endpoint unless changed. */
  publishUrl: string;
  /** EXTRA_PUBLISH_URLS: the user's own receivers. */
  extraPublishUrls: readonly string[];
  /** DO_NOT_TRACK: PUBLISH_URL is skipped, the extra URLs are not. */
  doNotTrack: boolean;
}

/** Where events go. */
export interface Targets {
  /** Distinct URLs in configuration order: PUBLISH_URL first, then the extras. */
  urls: string[];
  /** True when DO_NOT_TRACK removed PUBLISH_URL (say so once at start). */
  skippedSeldon: boolean;
}

/**
 * The URLs an event goes to: PUBLISH_URL (unless DO_NOT_TRACK) and the extra
 * URLs, each endpoint once however it is spelt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishTargets } from "./targets.ts";
 *
 * const targets = publishTargets({
 *   publishUrl: "http://hodometer.seldon.io",
 *   extraPublishUrls: ["http://receiver:8001", "http://receiver:8001/track"],
 *   doNotTrack: true,
 * });
 * assert.deepEqual(targets, {
 *   urls: ["http://receiver:8001"],
 *   skippedSeldon: true,
 * });
 * ```
 */
export function publishTargets(settings: TargetSettings): Targets {
  const candidates = settings.doNotTrack
    ? settings.extraPublishUrls
    : [settings.publishUrl, ...settings.extraPublishUrls];
  const seen = new Set<string>();
  const urls: string[] = [];
  for (const url of candidates) {
    const key = sameEndpointKey(url);
    if (seen.has(key)) continue;
    seen.add(key);
    urls.push(url);
  }
  return { urls, skippedSeldon: settings.doNotTrack };
}

// `http://Host:80/a/`, `http://host/a` and `http://host/a/track` are one
// endpoint: the same URL is requested.
function sameEndpointKey(url: string): string {
  try {
    return trackUrl(url, "").href;
  } catch {
    return url;
  }
}
