// Property-based tests of the parsers and encoders, with fast-check: for any
// input of a kind, what must hold. A failure prints the counterexample (shrunk)
// and the seed and path that replay it (fc.assert's message).

import fc from "fast-check";
import parsePrometheus from "parse-prometheus-text-format";
import { assertEquals } from "./assert.ts";
import {
  durationRange,
  formatDuration,
  parseDuration,
  parseDurationWithin,
} from "../src/config/parsers.ts";
import {
  decodeBase64,
  decodeFormBase64,
  encodeBase64,
} from "../src/net/base64.ts";
import {
  type Decimal,
  parseQuantity,
  toText,
} from "../src/metrics/quantity.ts";
import { escapeLabel } from "../src/receive/views/prometheus.ts";
import { DAY_MS } from "../src/runtime/units.ts";

// ------------------------------------------------------------------ durations

Deno.test("property: a duration reads back as the milliseconds it was written from", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3650 * DAY_MS }), (ms) => {
      assertEquals(parseDuration(formatDuration(ms)), { ok: true, value: ms });
    }),
  );
});

Deno.test("property: a bounded duration is accepted exactly within its bounds", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 * DAY_MS }),
      fc.integer({ min: 0, max: 30 * DAY_MS }),
      // Anywhere, or at a bound give or take a millisecond.
      fc.oneof(
        fc.integer({ min: 1, max: 60 * DAY_MS }),
        fc.tuple(
          fc.constantFrom("min", "max"),
          fc.integer({ min: -1, max: 1 }),
        ),
      ),
      (minMs, span, where) => {
        const maxMs = minMs + span;
        const ms = typeof where === "number"
          ? where
          : Math.max(0, (where[0] === "min" ? minMs : maxMs) + where[1]);
        const parsed = parseDurationWithin(minMs, maxMs)(formatDuration(ms));
        if (ms >= minMs && ms <= maxMs) {
          assertEquals(parsed, { ok: true, value: ms });
        } else {
          assertEquals(parsed.ok, false);
          if (!parsed.ok) {
            assertEquals(
              parsed.accepted.endsWith(durationRange(minMs, maxMs)),
              true,
              parsed.accepted,
            );
          }
        }
      },
    ),
  );
});

// --------------------------------------------------------------------- base64

const bytes = fc.uint8Array({ maxLength: 300 });
const urlSafe = (s: string) => s.replaceAll("+", "-").replaceAll("/", "_");
const unpadded = (s: string) => s.replace(/=+$/, "");

Deno.test("property: base64 reads back in either alphabet, padded or not", () => {
  fc.assert(
    fc.property(bytes, (b) => {
      const standard = encodeBase64(b);
      for (const text of [standard, urlSafe(standard), unpadded(standard)]) {
        assertEquals(decodeBase64(text), b, text);
        // Borrowed bytes: compared before the next call.
        assertEquals(decodeFormBase64(text), b, text);
      }
      assertEquals(decodeBase64(unpadded(urlSafe(standard))), b);
    }),
  );
});

Deno.test("property: a form value's spaces are the +s query decoding took", () => {
  fc.assert(
    fc.property(bytes, (b) => {
      const asQueryDecoded = encodeBase64(b).replaceAll("+", " ");
      assertEquals(decodeFormBase64(asQueryDecoded), b, asQueryDecoded);
    }),
  );
});

Deno.test("property: base64 with any other character is refused", () => {
  const other = fc.string({ minLength: 1, maxLength: 1 }).filter((c) =>
    !/[A-Za-z0-9+/=_-]/.test(c)
  );
  fc.assert(
    fc.property(bytes, other, fc.nat(), (b, c, at) => {
      const text = encodeBase64(b);
      const i = at % (text.length + 1);
      const spoiled = text.slice(0, i) + c + text.slice(i);
      assertEquals(decodeBase64(spoiled), null, JSON.stringify(spoiled));
    }),
  );
});

// ----------------------------------------------------------------- quantities

const DECIMAL_SUFFIXES = [
  ["n", -9],
  ["u", -6],
  ["m", -3],
  ["", 0],
  ["k", 3],
  ["M", 6],
  ["G", 9],
  ["T", 12],
  ["P", 15],
  ["E", 18],
] as const;
const BINARY_SUFFIXES = [["Ki", 1], ["Mi", 2], ["Gi", 3], ["Ti", 4]] as const;

/** The exact decimal text of `units × 10^exponent`, as canonical. */
function decimalText(units: bigint, exponent: number): string {
  return canonical(toText({
    units: exponent >= 0 ? units * 10n ** BigInt(exponent) : units,
    scale: exponent >= 0 ? 0 : -exponent,
  }));
}

Deno.test("property: a quantity with a decimal suffix is its number times the suffix's power of ten", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 999_999n }),
      fc.constantFrom(...DECIMAL_SUFFIXES),
      fc.boolean(),
      (n, [suffix, exponent], negative) => {
        const units = negative ? -n : n;
        const parsed = parseQuantity(`${units}${suffix}`);
        assertEquals(parsed.ok, true, `${units}${suffix}`);
        if (parsed.ok) {
          assertEquals(toText(parsed.value), decimalText(units, exponent));
        }
      },
    ),
  );
});

Deno.test("property: a quantity with a binary suffix is its number times a power of 1024", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 999_999n }),
      fc.constantFrom(...BINARY_SUFFIXES),
      (n, [suffix, power]) => {
        const parsed = parseQuantity(`${n}${suffix}`);
        assertEquals(parsed.ok, true, `${n}${suffix}`);
        if (parsed.ok) {
          assertEquals(
            toText(parsed.value),
            String(n * 1024n ** BigInt(power)),
          );
        }
      },
    ),
  );
});

Deno.test("property: a decimal's text parses back to the same decimal", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }),
      fc.integer({ min: 0, max: 9 }),
      (units, scale) => {
        const text = toText({ units, scale });
        const parsed = parseQuantity(text);
        assertEquals(parsed.ok, true, text);
        if (parsed.ok) assertEquals(toText(parsed.value), canonical(text));
      },
    ),
  );
});

/** Decimal text without trailing fractional zeros, "-0" as "0". */
function canonical(text: string): string {
  const trimmed = text.includes(".")
    ? text.replace(/0+$/, "").replace(/\.$/, "")
    : text;
  return trimmed === "-0" ? "0" : trimmed;
}

Deno.test("property: a decimal's text is exact (no binary rounding)", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 10n ** 24n }),
      fc.integer({ min: 0, max: 12 }),
      (units, scale) => {
        const d: Decimal = { units, scale };
        const text = toText(d);
        assertEquals(
          BigInt(text.replace(".", "")) * 10n ** BigInt(scale - fraction(text)),
          units,
          text,
        );
      },
    ),
  );
});

const fraction = (text: string) =>
  text.includes(".") ? text.length - text.indexOf(".") - 1 : 0;

// ------------------------------------------------------ Prometheus label values

/** Text with what a label value must survive: %, \, ", control characters, lone surrogates. */
const labelUnit = fc.oneof(
  fc.constantFrom(
    "%",
    "\\",
    '"',
    "\n",
    "\r",
    "\u0000",
    "\u007f",
    "a",
    "0",
    "F",
  ),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
);
const labelText = fc.string({ unit: labelUnit, maxLength: 12 });

/** Two distinct values that differ in one place: a few characters for others. */
const labelPair = fc.tuple(
  labelText,
  fc.nat(),
  fc.nat(3),
  fc.string({ unit: labelUnit, maxLength: 3 }),
).map(([a, at, cut, piece]) => {
  const i = at % (a.length + 1);
  return [a, a.slice(0, i) + piece + a.slice(i + cut)] as const;
});

/** The bytes a label value goes out as (UTF-8: a lone surrogate becomes U+FFFD). */
const wire = (text: string) =>
  Array.from(new TextEncoder().encode(text), (b) => b.toString(16)).join(" ");

Deno.test("property: distinct label values stay distinct once escaped, as sent", () => {
  fc.assert(
    fc.property(labelPair, ([a, b]) => {
      fc.pre(a !== b);
      assertEquals(
        wire(escapeLabel(a)) !== wire(escapeLabel(b)),
        true,
        `${JSON.stringify(a)} and ${JSON.stringify(b)} both go out as ${
          JSON.stringify(escapeLabel(a))
        }`,
      );
    }),
    // A collision needs one place to differ in a particular way: many runs.
    { numRuns: 2_000 },
  );
});

/**
 * The value back from its escaped form: the format's escapes undone, then the
 * percent-encoding; null when the text holds anything escapeLabel would not
 * have written (which would make two values' forms liable to meet).
 */
function unescapeLabel(escaped: string): string | null {
  let out = "";
  for (let i = 0; i < escaped.length;) {
    const c = escaped[i]!; // i < escaped.length
    if (c === "\\") {
      const next = escaped[i + 1];
      if (next !== "\\" && next !== '"') return null;
      out += next;
      i += 2;
    } else if (c === '"' || c === "\n") {
      return null;
    } else if (c === "%") {
      const m = /^%(?:u(D[89AB][0-9A-F]{2}|D[C-F][0-9A-F]{2})|([0-9A-F]{2}))/
        .exec(escaped.slice(i));
      const code = m?.[1] ?? m?.[2];
      if (m === null || code === undefined) return null;
      out += String.fromCharCode(parseInt(code, 16));
      i += m[0].length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

Deno.test("property: a label value can be read back from its escaped form", () => {
  fc.assert(
    fc.property(labelText, (value) => {
      assertEquals(unescapeLabel(escapeLabel(value)), value);
    }),
  );
});

Deno.test("property: an escaped label value parses as one sample with that label", () => {
  fc.assert(
    fc.property(labelText, (value) => {
      const escaped = escapeLabel(value);
      const text = `# TYPE m gauge\nm{cluster_id="${escaped}"} 1\n`;
      const families = parsePrometheus(text) as Array<
        { name: string; metrics: Array<{ labels?: Record<string, string> }> }
      >;
      assertEquals(families.map((f) => f.name), ["m"], text);
      const metrics = families[0]?.metrics ?? [];
      assertEquals(metrics.length, 1, text);
      // What the parser reads is the value before the format's escaping.
      assertEquals(
        metrics[0]?.labels?.cluster_id,
        escaped.replace(/\\(.)/g, "$1"),
        text,
      );
      // One line: nothing of the value can start another.
      assertEquals(/[\n\r]/.test(escaped), false, text);
    }),
  );
});
