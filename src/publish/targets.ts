// Which URLs receive the event, honouring the DO_NOT_TRACK convention: Seldon's
// PUBLISH_URL is skipped, the user's own extra URLs still receive events.

import { trackUrl } from "./url.ts";

export interface TargetSettings {
  publishUrl: string;
  extraPublishUrls: readonly string[];
  doNotTrack: boolean;
}

export interface Targets {
  /** Distinct URLs in configuration order: PUBLISH_URL first, then the extras. */
  urls: string[];
  /** True when DO_NOT_TRACK removed PUBLISH_URL (say so once at start). */
  skippedSeldon: boolean;
}

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
