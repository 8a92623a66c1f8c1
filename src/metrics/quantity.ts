// Kubernetes resource quantities ("500m", "2", "1.5", "100Mi", "1e3") parsed
// exactly into decimals, so sums of CPU cores carry no binary rounding error
// until the single conversion to a number at the end.

/** An exact decimal: `units × 10^-scale`. */
export interface Decimal {
  /** The digits, as a whole number. */
  units: bigint;
  /** Digits after the decimal point; never negative. */
  scale: number;
}

/** A quantity read exactly, or why it is not one (the text clipped, quoted). */
export type ParsedQuantity =
  | { ok: true; value: Decimal }
  | { ok: false; error: string };

/** Zero, where a sum starts. */
export const ZERO: Decimal = { units: 0n, scale: 0 };

const DECIMAL_SI: Readonly<Record<string, number | undefined>> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SI: Readonly<Record<string, number | undefined>> = {
  Ki: 1,
  Mi: 2,
  Gi: 3,
  Ti: 4,
  Pi: 5,
  Ei: 6,
};

// <sign>? (<digits> | <digits>. | <digits>.<digits> | .<digits>) <suffix>
const QUANTITY_RE =
  /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:([eE])([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?))$/;

/** Bounds that keep every accepted quantity (and sums of them) finite. */
const MAX_LENGTH = 64;
const MAX_EXPONENT = 30;

/**
 * Parses a quantity given as a string (or a JSON number, as some custom
 * resources hold) exactly: decimal (`m`, `k`, `M`…) and binary (`Ki`, `Mi`…)
 * suffixes and exponents, within bounds that keep sums finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { add, parseQuantity, toText } from "./quantity.ts";
 *
 * const a = parseQuantity("500m");
 * const b = parseQuantity("1.5");
 * assert.ok(a.ok && b.ok);
 * assert.equal(toText(add(a.value, b.value)), "2");
 * assert.equal(parseQuantity("12 cores").ok, false);
 * ```
 */
export function parseQuantity(raw: unknown): ParsedQuantity {
  let text: string;
  if (typeof raw === "string") text = raw;
  else if (typeof raw === "number" && Number.isFinite(raw)) text = String(raw);
  else return { ok: false, error: `${describe(raw)} is not a quantity` };
  const bad = (why: string): ParsedQuantity => ({
    ok: false,
    error: `${JSON.stringify(text.slice(0, MAX_LENGTH))} ${why}`,
  });
  if (text.length > MAX_LENGTH) return bad("is too long to be a quantity");
  const m = QUANTITY_RE.exec(text);
  if (!m) return bad("is not a Kubernetes quantity");
  const [, sign, intDigits, fracAfterInt, fracOnly, e, expDigits, bin, dec] = m;
  const fraction = fracOnly ?? fracAfterInt ?? "";
  let units = BigInt((intDigits ?? "") + fraction || "0");
  let exponent = -fraction.length;
  if (e !== undefined) exponent += Number(expDigits);
  const power = bin === undefined ? DECIMAL_SI[dec ?? ""] : BINARY_SI[bin];
  if (power === undefined) return bad("is not a Kubernetes quantity");
  if (e === undefined && bin === undefined) exponent += power;
  if (Math.abs(exponent + (intDigits?.length ?? 0)) > MAX_EXPONENT + 20) {
    return bad("is out of range");
  }
  if (bin !== undefined) units *= 1024n ** BigInt(power);
  if (sign === "-") units = -units;
  const value = normalize(
    exponent >= 0
      ? { units: units * 10n ** BigInt(exponent), scale: 0 }
      : { units, scale: -exponent },
  );
  if (value.scale > MAX_EXPONENT || magnitude(value) > MAX_EXPONENT) {
    return bad("is out of range");
  }
  return { ok: true, value };
}

function describe(raw: unknown): string {
  if (raw === null) return "null";
  if (typeof raw === "string") return JSON.stringify(raw);
  if (typeof raw === "number") return String(raw);
  return `a ${typeof raw}`;
}

/** Number of digits before the decimal point (0 for values below 1). */
function magnitude(d: Decimal): number {
  const digits = (d.units < 0n ? -d.units : d.units).toString().length;
  return Math.max(0, digits - d.scale);
}

/** Drops trailing zero decimals so equal values compare equal. */
function normalize(d: Decimal): Decimal {
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units: units === 0n ? 0n : units, scale: units === 0n ? 0 : scale };
}

/** The exact sum. */
export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return normalize({
    units: a.units * 10n ** BigInt(scale - a.scale) +
      b.units * 10n ** BigInt(scale - b.scale),
    scale,
  });
}

/** The exact product by a whole number; throws a RangeError for any other. */
export function multiply(a: Decimal, factor: number): Decimal {
  if (!Number.isSafeInteger(factor)) {
    throw new RangeError(`${factor} is not a safe integer`);
  }
  return normalize({ units: a.units * BigInt(factor), scale: a.scale });
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compare(a: Decimal, b: Decimal): number {
  const diff = add(a, { units: -b.units, scale: b.scale }).units;
  return diff === 0n ? 0 : diff < 0n ? -1 : 1;
}

/** Whether `d` is below zero. */
export function isNegative(d: Decimal): boolean {
  return d.units < 0n;
}

/** The nearest number (one correctly rounded conversion from the exact decimal). */
export function toNumber(d: Decimal): number {
  return Number(`${d.units}e-${d.scale}`);
}

/** Exact decimal text, e.g. "1.5" or "0.001". */
export function toText(d: Decimal): string {
  const negative = d.units < 0n;
  const digits = (negative ? -d.units : d.units).toString().padStart(
    d.scale + 1,
    "0",
  );
  const int = digits.slice(0, digits.length - d.scale);
  const frac = digits.slice(digits.length - d.scale);
  return `${negative ? "-" : ""}${int}${frac ? `.${frac}` : ""}`;
}
