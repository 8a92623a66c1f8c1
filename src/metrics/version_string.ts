// Version strings reported by the scheduler and the Kubernetes API end up in
// the event, and a build may put anything after the version (a team's or a
// customer's name, a host, an address). Only shapes that cannot carry a name
// leave the cluster: the numeric core, plus a suffix made only of numbers,
// commit ids and a short list of known pre-release and distribution words.

const CORE_RE = /^(v?)(\d{1,4})\.(\d{1,4})\.(\d{1,6})(?=$|[-+])/;

/** Longest suffix kept; a full 40-digit commit id after a word fits. */
const MAX_SUFFIX = 64;

/**
 * Words a version suffix may hold, each optionally followed by digits
 * (`rc1`, `k3s1`, `rke2r1`): pre-release stages and the markers Kubernetes
 * distributions put in `gitVersion`. Matched without regard to case.
 */
export const VERSION_WORDS: readonly string[] = [
  "alpha",
  "beta",
  "rc",
  "pre",
  "preview",
  "dev",
  "snapshot",
  "nightly",
  "canary",
  "final",
  "ga",
  "stable",
  "release",
  "build",
  "hotfix",
  "patch",
  "dirty",
  "gke",
  "eks",
  "aks",
  "iks",
  "k3s",
  "k0s",
  "rke2",
  "rke2r",
  "vmware",
  "aliyun",
  "ocp",
  "okd",
];

const WORDS_ALTERNATION = [...VERSION_WORDS]
  .sort((a, b) => b.length - a.length)
  .join("|");

/** A number: counted, since several could spell an address. */
const NUMBER_RE = /^\d{1,12}$/;

/**
 * A commit id of 7–40 hex digits holding a digit, so that words spelt in hex
 * letters (`defaced`) are not taken for one; `git describe` puts a `g` before
 * it. One made of digits only is a number.
 */
const COMMIT_RE = /^g?(?=[0-9a-f]*\d)[0-9a-f]{7,40}$/i;

/** A known word with optional digits (`rc1`), or one letter with digits (`r1`). */
const WORD_RE = new RegExp(
  `^(?:(?:${WORDS_ALTERNATION})\\d*|[a-z]\\d+)$`,
  "i",
);

/**
 * More digit groups than this outside commit ids could spell an address
 * (`-10.0.0.1`, `-rc10.0.0.1`, `-192-168-1-20`); real suffixes hold at most
 * three (`-eks-1-27-9`).
 */
const MAX_DIGIT_GROUPS = 3;

/** Whether a suffix (with its leading `-` or `+`) may leave the cluster. */
function isSafeVersionSuffix(suffix: string): boolean {
  if (suffix.length < 2 || suffix.length > MAX_SUFFIX) return false;
  if (suffix[0] !== "-" && suffix[0] !== "+") return false;
  let digitGroups = 0;
  for (const id of suffix.slice(1).split(/[-.+]/)) {
    if (COMMIT_RE.test(id) && !NUMBER_RE.test(id)) continue;
    if (!NUMBER_RE.test(id) && !WORD_RE.test(id)) return false;
    digitGroups += id.match(/\d+/g)?.length ?? 0;
  }
  return digitGroups <= MAX_DIGIT_GROUPS;
}

/**
 * Keeps a version only when it starts like one (`v1.30.2`, `2.8.0`), with its
 * `v` prefix as given unless `prefix` replaces it, and with its suffix only
 * when every part of it is safe (`v1.29.4-eks-036c24b`, `v1.28.9+k3s1`,
 * `v1.27.3-gke.1700`, `2.9.0-rc.1`); any other suffix is dropped, keeping
 * `X.Y.Z` (`2.8.0-customer-churn-model` → `2.8.0`). Anything that is not a
 * version gives undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeVersion } from "./version_string.ts";
 *
 * assert.equal(sanitizeVersion("v1.28.9+k3s1"), "v1.28.9+k3s1");
 * assert.equal(sanitizeVersion("2.8.0-acme-payments"), "2.8.0");
 * assert.equal(sanitizeVersion("1.30.2", "v"), "v1.30.2");
 * assert.equal(sanitizeVersion("build of 2024-05-01"), undefined);
 * ```
 */
export function sanitizeVersion(
  raw: unknown,
  prefix?: "v",
): string | undefined {
  if (typeof raw !== "string") return undefined;
  const text = raw.trim();
  const m = CORE_RE.exec(text);
  if (!m) return undefined;
  const core = `${prefix ?? m[1]}${Number(m[2])}.${Number(m[3])}.${
    Number(m[4])
  }`;
  const suffix = text.slice(m[0].length);
  return suffix !== "" && isSafeVersionSuffix(suffix) ? core + suffix : core;
}
