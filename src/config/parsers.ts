// Pure value parsers for settings. Each returns the parsed value or an error
// string saying what is accepted; none of them touches the environment.

export type Parsed<T> = { ok: true; value: T } | {
  ok: false;
  accepted: string;
};

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(accepted: string): Parsed<T> => ({ ok: false, accepted });

export function parseChoice<T extends string>(
  choices: readonly T[],
  aliases: Record<string, T> = {},
): (raw: string) => Parsed<T> {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    const hit = choices.find((c) => c === v) ?? aliases[v];
    return hit
      ? ok(hit)
      : bad(`one of ${choices.join(", ")} (case-insensitive)`);
  };
}

export function parseInteger(
  min: number,
  max: number,
): (raw: string) => Parsed<number> {
  return (raw) => {
    const v = raw.trim();
    if (!/^\d+$/.test(v)) return bad(`a whole number from ${min} to ${max}`);
    const n = Number(v);
    return n >= min && n <= max
      ? ok(n)
      : bad(`a whole number from ${min} to ${max}`);
  };
}

export const parsePort = parseInteger(1, 65535);

/** An http(s) URL without query or fragment; a trailing slash is dropped. */
export function parseHttpUrl(raw: string): Parsed<string> {
  const accepted =
    "an http:// or https:// URL with a host, e.g. http://receiver.example:8001";
  const v = raw.trim();
  if (!URL.canParse(v)) return bad(accepted);
  const url = new URL(v);
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.hostname === ""
  ) {
    return bad(accepted);
  }
  if (url.search !== "" || url.hash !== "") {
    return bad(`${accepted}, without a query or fragment`);
  }
  return ok(url.href.replace(/\/+$/, ""));
}

/** Comma-separated URLs; spaces around items trimmed, empty items ignored. */
export function parseUrlList(raw: string): Parsed<string[]> {
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const urls: string[] = [];
  for (const item of items) {
    const parsed = parseHttpUrl(item);
    if (!parsed.ok) {
      return bad(
        `a comma-separated list of http(s) URLs; "${item}" is not one`,
      );
    }
    urls.push(parsed.value);
  }
  return ok(urls);
}

const UUID_RE =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(raw: string): boolean {
  return UUID_RE.test(raw.trim());
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Durations such as `90s`, `30m`, `8h`, `1h30m`, `250ms`, `90d`; returns milliseconds. */
export function parseDuration(raw: string): Parsed<number> {
  const accepted = "a duration such as 250ms, 90s, 30m, 8h, 1h30m or 90d";
  const v = raw.trim().toLowerCase();
  if (v === "") return bad(accepted);
  let total = 0;
  let rest = v;
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest);
    if (!m) return bad(accepted);
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total > 0 && Number.isFinite(total)
    ? ok(Math.round(total))
    : bad(accepted);
}

/** Milliseconds as the largest units that divide them: `8h`, `90s`, `1h30m`, `250ms`. */
export function formatDuration(ms: number): string {
  const units = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], [
    "s",
    1000,
  ], ["ms", 1]] as const;
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || "0ms";
}

export function parseBoolean(raw: string): Parsed<boolean> {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return ok(true);
  if (["0", "false", "no", "off", ""].includes(v)) return ok(false);
  return bad("true/false, 1/0, yes/no or on/off");
}

export function parseNonEmpty(raw: string): Parsed<string> {
  const v = raw.trim();
  return v === "" ? bad("a non-empty string") : ok(v);
}
