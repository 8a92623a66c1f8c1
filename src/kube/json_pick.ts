// An incremental JSON reader that keeps only what it is told to. Bytes are
// pushed as they arrive; the whole text is checked as JSON (what JSON.parse
// accepts, decoded as UTF-8), but only the parts a Pick names are built as
// values, and the elements of one array (a Kubernetes list's `items`) are
// handed over one by one and not kept. Time is linear in the input; memory is
// the nesting stack (at most maxDepth bytes), the one scalar being kept (at
// most its Pick's maxBytes) and what is kept (at most maxKeptBytes for the
// document, maxItemKeptBytes per item), whatever the input. Pure.

/** What to keep of a JSON value. */
export type Pick =
  /** Nothing: the value is only checked as JSON. */
  | { readonly kind: "skip" }
  /** A string, number, boolean or null; a longer string or number becomes an Overlong. */
  | { readonly kind: "scalar"; readonly maxBytes: number }
  /** An object with these members only (others are skipped). */
  | { readonly kind: "object"; readonly fields: Readonly<Record<string, Pick>> }
  /** An object with the members whose name `keep` accepts. */
  | {
    readonly kind: "map";
    readonly keep: (key: string) => boolean;
    /** A longer member name is an error (it cannot be told apart otherwise). */
    readonly maxKeyBytes: number;
    readonly value: Pick;
  }
  /** An array, every element kept as `element` says. */
  | { readonly kind: "array"; readonly element: Pick }
  /** An array whose elements are handed to onItem one by one, not kept (kept as `[]`). */
  | { readonly kind: "items"; readonly element: Pick }
  /** Everything, within maxKeptBytes. */
  | { readonly kind: "any" };

/** Builders of Picks. */
export const pick = {
  skip: { kind: "skip" } as Pick,
  scalar: (maxBytes: number): Pick => ({ kind: "scalar", maxBytes }),
  object: (fields: Record<string, Pick>): Pick => ({ kind: "object", fields }),
  map: (keep: (key: string) => boolean, maxKeyBytes: number, value: Pick) =>
    ({ kind: "map", keep, maxKeyBytes, value }) as Pick,
  array: (element: Pick): Pick => ({ kind: "array", element }),
  items: (element: Pick): Pick => ({ kind: "items", element }),
  any: { kind: "any" } as Pick,
};

/** A string or number longer than its Pick allows: kept as its size only. */
export class Overlong {
  /** What it stands for, and its size in bytes of JSON text. */
  constructor(
    readonly type: "string" | "number",
    readonly bytes: number,
  ) {}
  /** How it reads in messages (JSON.stringify). */
  toJSON(): string {
    return `(a ${this.type} of ${this.bytes} bytes)`;
  }
}

/** Called with each element of the `items` array; "stop" ends the reading there. */
export type OnItem = (
  item: unknown,
  index: number,
  keptBytes: number,
) => void | "stop";

/** How a JsonPicker reads. */
export interface JsonPickOptions {
  /** What is kept of the document. */
  pick: Pick;
  /** Each element of the `items` array (when the Pick has one). */
  onItem?: OnItem;
  /** Deepest nesting accepted (default 512). */
  maxDepth?: number;
  /** Most bytes kept outside `items` elements (default 64 KiB). */
  maxKeptBytes?: number;
  /** Most bytes kept of one `items` element (default 64 KiB). */
  maxItemKeptBytes?: number;
}

/** Where a push leaves the reading. */
export type PushStatus = "more" | "stopped" | { error: string };

/** The document as far as it was picked, or why it is not (acceptable) JSON. */
export type PickResult =
  | { ok: true; value: unknown; stopped: boolean }
  | { ok: false; error: string };

// Grammar states.
const S_VALUE = 0, // a value must come
  S_ARRAY_FIRST = 1, // after "[": a value or "]"
  S_OBJECT_FIRST = 2, // after "{": a name or "}"
  S_KEY = 3, // after "," in an object: a name
  S_COLON = 4,
  S_AFTER = 5, // after a value in a container: "," or its closing bracket
  S_DONE = 6, // after the top-level value
  S_STRING = 7,
  S_NUMBER = 8,
  S_LITERAL = 9,
  S_STOPPED = 10,
  S_ERROR = 11;

// Number states: after "-", after a leading 0, in the integer, after ".",
// in the fraction, after "e", after the exponent's sign, in the exponent.
const N_MINUS = 0,
  N_ZERO = 1,
  N_INT = 2,
  N_DOT = 3,
  N_FRAC = 4,
  N_E = 5,
  N_ESIGN = 6,
  N_EXP = 7;
const NUMBER_CAN_END = [false, true, true, false, true, false, false, true];

const OBJ = 1, ARR = 2;
const QUOTE = 0x22, BACKSLASH = 0x5c;
/** What a kept container or member costs besides its text (an estimate of its heap). */
const NODE_COST = 32;

interface Frame {
  pick: Pick;
  /** The value being built; undefined for an `items` array. */
  kept: Record<string, unknown> | unknown[] | undefined;
  /** The Pick of the member or element being read; undefined: skipped. */
  member: Pick | undefined;
  key: string | undefined;
  index: number;
}

const LITERALS: Record<number, { bytes: Uint8Array; value: unknown }> = {
  0x74: { bytes: new TextEncoder().encode("true"), value: true },
  0x66: { bytes: new TextEncoder().encode("false"), value: false },
  0x6e: { bytes: new TextEncoder().encode("null"), value: null },
};

const ESCAPABLE = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const isHex = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) ||
  (c >= 0x61 && c <= 0x66);
const isSpace = (c: number) =>
  c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function describeByte(c: number): string {
  return c >= 0x21 && c <= 0x7e
    ? `"${String.fromCharCode(c)}"`
    : `byte 0x${c.toString(16).padStart(2, "0")}`;
}

/** Longest raw (escaped) member name an object Pick can match, cached. */
const fieldLimits = new WeakMap<Pick, number>();
function fieldLimit(p: Extract<Pick, { kind: "object" }>): number {
  let limit = fieldLimits.get(p);
  if (limit === undefined) {
    // \uXXXX spells one UTF-16 unit in 6 bytes: no longer spelling exists.
    limit = Math.max(0, ...Object.keys(p.fields).map((k) => k.length)) * 6;
    fieldLimits.set(p, limit);
  }
  return limit;
}

function setMember(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  // As JSON.parse does: "__proto__" is an own member, never the prototype.
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** Reads one JSON document pushed in pieces, keeping what its Pick names. */
export class JsonPicker {
  readonly #pick: Pick;
  readonly #onItem?: OnItem;
  readonly #maxDepth: number;
  readonly #maxKept: number;
  readonly #maxItemKept: number;
  readonly #types: Uint8Array;
  readonly #frames: (Frame | undefined)[] = [];
  #depth = 0;
  /** Depths 1..keptDepth have frames (their containers are kept). */
  #keptDepth = 0;
  /** Depth of the open `items` array; 0 when none is open. */
  #itemsDepth = 0;
  #state = S_VALUE;
  #offset = 0;
  #root: unknown = undefined;
  /** What a skipped container right below the kept ones stands for. */
  #marker: unknown = undefined;
  #kept = 0;
  #itemKept = 0;
  #error: string | undefined;
  // The scalar being read.
  #isKey = false;
  /** Whether the scalar is recorded at all (its parent is kept). */
  #record = false;
  /** Its Pick when it is kept (undefined: skipped). */
  #scalarPick: Pick | undefined;
  #limit = 0;
  #buffer = new Uint8Array(256);
  #length = 0;
  #rawLength = 0;
  #escape = 0;
  #escaped = false;
  #number = N_MINUS;
  #literal: { bytes: Uint8Array; value: unknown } | undefined;
  #literalAt = 0;

  /** A picker for one document. */
  constructor(options: JsonPickOptions) {
    this.#pick = options.pick;
    this.#onItem = options.onItem;
    this.#maxDepth = options.maxDepth ?? 512;
    this.#maxKept = options.maxKeptBytes ?? 64 * 1024;
    this.#maxItemKept = options.maxItemKeptBytes ?? 64 * 1024;
    this.#types = new Uint8Array(this.#maxDepth + 1);
  }

  /** Bytes pushed and read so far. */
  get bytesRead(): number {
    return this.#offset;
  }

  /** Feeds the next bytes of the document. */
  push(bytes: Uint8Array): PushStatus {
    const n = bytes.length;
    let i = 0;
    while (i < n && this.#state < S_STOPPED) {
      switch (this.#state) {
        case S_STRING:
          i = this.#string(bytes, i);
          break;
        case S_NUMBER:
          i = this.#numberByte(bytes[i]!, i) ? i + 1 : i;
          break;
        case S_LITERAL:
          this.#literalByte(bytes[i]!, i);
          i++;
          break;
        default:
          this.#structural(bytes[i]!, i);
          i++;
      }
    }
    this.#offset += i;
    return this.#status();
  }

  /** Says the document is complete: what was picked, or why it is not JSON. */
  finish(): PickResult {
    if (
      this.#state === S_NUMBER && this.#depth === 0 &&
      NUMBER_CAN_END[this.#number]
    ) this.#numberEnd();
    if (this.#state === S_STOPPED) {
      return { ok: true, value: this.#root, stopped: true };
    }
    if (this.#error !== undefined) return { ok: false, error: this.#error };
    if (this.#state !== S_DONE) {
      return {
        ok: false,
        error: this.#offset === 0
          ? "is empty"
          : `ends before its JSON does (after ${byteCount(this.#offset)})`,
      };
    }
    return { ok: true, value: this.#root, stopped: false };
  }

  #status(): PushStatus {
    if (this.#state === S_ERROR) return { error: this.#error! };
    return this.#state === S_STOPPED ? "stopped" : "more";
  }

  #fail(message: string, at?: number): void {
    this.#state = S_ERROR;
    this.#error = at === undefined
      ? message
      : `${message} at byte ${this.#offset + at}`;
  }

  #unexpected(c: number, at: number): void {
    this.#fail(`is not JSON: unexpected ${describeByte(c)}`, at);
  }

  /** Whitespace, brackets, commas and colons, and the start of a value. */
  #structural(c: number, at: number): void {
    if (isSpace(c)) return;
    const state = this.#state;
    if (state === S_AFTER) return this.#afterValue(c, at);
    if (state === S_COLON) {
      if (c === 0x3a) this.#state = S_VALUE;
      else this.#unexpected(c, at);
      return;
    }
    if (state === S_DONE) return this.#unexpected(c, at);
    if (state === S_OBJECT_FIRST || state === S_KEY) {
      if (c === QUOTE) return this.#startKey();
      if (c === 0x7d && state === S_OBJECT_FIRST) return this.#close(OBJ, at);
      return this.#unexpected(c, at);
    }
    if (c === 0x5d && state === S_ARRAY_FIRST) return this.#close(ARR, at);
    this.#startValue(c, at);
  }

  #afterValue(c: number, at: number): void {
    const type = this.#types[this.#depth];
    if (c === 0x2c) {
      this.#state = type === OBJ ? S_KEY : S_VALUE;
    } else if (c === 0x7d || c === 0x5d) {
      this.#close(c === 0x7d ? OBJ : ARR, at);
    } else this.#unexpected(c, at);
  }

  /** The Pick of the value starting here; undefined when it is not kept. */
  #valuePick(): Pick | undefined {
    const p = this.#depth === 0
      ? this.#pick
      : this.#depth <= this.#keptDepth
      ? this.#frames[this.#depth]!.member
      : undefined;
    return p?.kind === "skip" ? undefined : p;
  }

  #startValue(c: number, at: number): void {
    if (c === 0x7b || c === 0x5b) return this.#open(c === 0x7b ? OBJ : ARR, at);
    this.#record = this.#depth <= this.#keptDepth;
    this.#scalarPick = this.#record ? this.#valuePick() : undefined;
    if (c === QUOTE) {
      this.#isKey = false;
      return this.#startString(this.#scalarLimit());
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.#state = S_NUMBER;
      this.#number = c === 0x2d ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
      this.#startBuffer(this.#scalarLimit());
      this.#append(c);
      return;
    }
    const literal = LITERALS[c];
    if (literal === undefined) return this.#unexpected(c, at);
    this.#literal = literal;
    this.#literalAt = 1;
    this.#state = S_LITERAL;
  }

  /** How much of the scalar starting here is kept: a scalar where a container was wanted only for its type. */
  #scalarLimit(): number {
    const p = this.#scalarPick;
    if (p === undefined) return 0;
    if (p.kind === "scalar") return p.maxBytes;
    return p.kind === "any" ? this.#maxKeptBytesHere() : 64;
  }

  #maxKeptBytesHere(): number {
    return this.#inItem() ? this.#maxItemKept : this.#maxKept;
  }

  #inItem(): boolean {
    return this.#itemsDepth > 0 && this.#depth >= this.#itemsDepth;
  }

  #charge(bytes: number, at: number | undefined): boolean {
    if (this.#inItem()) {
      this.#itemKept += bytes;
      if (this.#itemKept <= this.#maxItemKept) return true;
      const index = this.#frames[this.#itemsDepth]!.index;
      this.#fail(
        `holds an item (items[${index}]) of which more than ${this.#maxItemKept} bytes would be kept`,
        at,
      );
      return false;
    }
    this.#kept += bytes;
    if (this.#kept <= this.#maxKept) return true;
    this.#fail(`holds more than ${this.#maxKept} bytes to keep`, at);
    return false;
  }

  #open(type: number, at: number): void {
    if (this.#depth >= this.#maxDepth) {
      return this.#fail(`nests deeper than ${this.#maxDepth} levels`, at);
    }
    const p = this.#valuePick();
    const parentKept = this.#depth === this.#keptDepth;
    const fits = p !== undefined && parentKept &&
      (type === OBJ
        ? p.kind === "object" || p.kind === "map" || p.kind === "any"
        : p.kind === "array" || p.kind === "items" || p.kind === "any");
    if (fits && !this.#charge(NODE_COST, at)) return;
    this.#depth++;
    this.#types[this.#depth] = type;
    this.#state = type === OBJ ? S_OBJECT_FIRST : S_ARRAY_FIRST;
    if (!fits) {
      // Skipped; a container where a scalar or the other kind was wanted is
      // kept as an empty one of its own kind, so the reader sees the type.
      if (parentKept) {
        this.#marker = p === undefined ? undefined : type === OBJ ? {} : [];
      }
      return;
    }
    const items = p.kind === "items" && this.#itemsDepth === 0;
    const element = p.kind === "array" || p.kind === "items"
      ? p.element
      : p.kind === "any"
      ? p
      : undefined;
    this.#frames[this.#depth] = {
      pick: p,
      kept: items ? undefined : type === OBJ ? {} : [],
      member: element,
      key: undefined,
      index: 0,
    };
    this.#keptDepth = this.#depth;
    if (items) {
      this.#itemsDepth = this.#depth;
      this.#itemKept = 0;
    }
  }

  #close(type: number, at: number): void {
    const depth = this.#depth;
    if (depth === 0 || this.#types[depth] !== type) {
      return this.#unexpected(type === OBJ ? 0x7d : 0x5d, at);
    }
    this.#depth--;
    this.#state = S_AFTER;
    let value: unknown;
    if (depth <= this.#keptDepth) {
      const frame = this.#frames[depth]!;
      this.#frames[depth] = undefined;
      this.#keptDepth = depth - 1;
      value = frame.kept ?? [];
      if (depth === this.#itemsDepth) this.#itemsDepth = 0;
    } else if (depth === this.#keptDepth + 1) {
      value = this.#marker;
      this.#marker = undefined;
    } else return;
    this.#done(value);
  }

  /** A value whose parent is kept (or the top-level value) is complete. */
  #done(value: unknown): void {
    if (this.#depth === 0) {
      this.#root = value;
      this.#state = S_DONE;
      return;
    }
    this.#state = S_AFTER;
    const frame = this.#frames[this.#depth]!;
    const index = frame.index++;
    if (this.#depth === this.#itemsDepth) {
      const kept = this.#itemKept;
      this.#itemKept = 0;
      if (this.#onItem?.(value, index, kept) === "stop") {
        this.#state = S_STOPPED;
      }
    } else if (value !== undefined) {
      if (Array.isArray(frame.kept)) frame.kept.push(value);
      else setMember(frame.kept!, frame.key!, value);
    }
  }

  #startKey(): void {
    this.#isKey = true;
    this.#record = this.#depth <= this.#keptDepth;
    if (!this.#record) return this.#startString(0);
    const p = this.#frames[this.#depth]!.pick;
    this.#startString(
      p.kind === "object"
        ? fieldLimit(p)
        : p.kind === "map"
        ? p.maxKeyBytes
        : this.#maxKeptBytesHere(),
    );
  }

  #startString(limit: number): void {
    this.#state = S_STRING;
    this.#escape = 0;
    this.#escaped = false;
    this.#startBuffer(limit);
  }

  #startBuffer(limit: number): void {
    this.#limit = limit;
    this.#length = 0;
    this.#rawLength = 0;
  }

  /** Keeps one more byte of the scalar, up to its limit (counted beyond). */
  #append(c: number): void {
    if (this.#rawLength++ >= this.#limit) return;
    if (this.#length === this.#buffer.length) {
      const grown = new Uint8Array(
        Math.min(this.#buffer.length * 2, Math.max(this.#limit, 256)),
      );
      grown.set(this.#buffer);
      this.#buffer = grown;
    }
    this.#buffer[this.#length++] = c;
  }

  #appendRange(bytes: Uint8Array, from: number, to: number): void {
    const wanted = Math.min(to, from + this.#limit - this.#rawLength);
    if (wanted > from) {
      const need = this.#length + wanted - from;
      if (need > this.#buffer.length) {
        let size = this.#buffer.length * 2;
        while (size < need) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.#buffer.subarray(0, this.#length));
        this.#buffer = grown;
      }
      this.#buffer.set(bytes.subarray(from, wanted), this.#length);
      this.#length = need;
    }
    this.#rawLength += to - from;
  }

  /** Reads string bytes from `i`; returns where it stopped. */
  #string(bytes: Uint8Array, i: number): number {
    const start = i;
    const n = bytes.length;
    let escape = this.#escape;
    for (; i < n; i++) {
      const c = bytes[i]!;
      if (escape === 0) {
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          escape = 1;
          this.#escaped = true;
        } else if (c < 0x20) {
          this.#unexpected(c, i);
          return n;
        }
      } else if (escape === 1) {
        if (c === 0x75) escape = 2;
        else if (ESCAPABLE.has(c)) escape = 0;
        else {
          this.#fail(`is not JSON: a bad escape ${describeByte(c)}`, i);
          return n;
        }
      } else if (isHex(c)) {
        escape = escape === 5 ? 0 : escape + 1;
      } else {
        this.#fail(`is not JSON: a bad \\u escape ${describeByte(c)}`, i);
        return n;
      }
    }
    this.#escape = escape;
    if (this.#limit > 0) this.#appendRange(bytes, start, i);
    else this.#rawLength += i - start;
    if (i === n) return n;
    this.#stringEnd(i);
    return i + 1;
  }

  #decoded(): string {
    const text = decoder.decode(this.#buffer.subarray(0, this.#length));
    // Escapes were checked byte by byte: JSON.parse only resolves them.
    return this.#escaped ? JSON.parse(`"${text}"`) : text;
  }

  #stringEnd(at: number): void {
    this.#state = S_AFTER;
    const over = this.#rawLength > this.#limit;
    if (this.#isKey) return this.#keyEnd(over, at);
    if (!this.#record) return;
    if (this.#scalarPick === undefined) return this.#done(undefined);
    const value = over
      ? new Overlong("string", this.#rawLength)
      : this.#decoded();
    if (this.#charge(NODE_COST + Math.min(this.#rawLength, this.#limit), at)) {
      this.#done(value);
    }
  }

  #keyEnd(over: boolean, at: number): void {
    this.#state = S_COLON;
    if (!this.#record) return;
    const frame = this.#frames[this.#depth]!;
    const p = frame.pick;
    frame.member = undefined;
    frame.key = undefined;
    if (p.kind === "object") {
      if (over) return;
      const key = this.#decoded();
      if (Object.hasOwn(p.fields, key)) {
        frame.key = key;
        frame.member = p.fields[key];
      }
      return;
    }
    if (over) {
      return this.#fail(
        `holds a member name longer than ${this.#limit} bytes in ${this.#path()}`,
        at,
      );
    }
    const key = this.#decoded();
    if (p.kind === "map" && !p.keep(key)) return;
    if (!this.#charge(NODE_COST + this.#rawLength, at)) return;
    frame.key = key;
    frame.member = p.kind === "map" ? p.value : p;
  }

  /** Where the kept frames are, e.g. `items[3].spec.podSpec.containers[0]`. */
  #path(): string {
    let path = "";
    for (let d = 2; d <= this.#keptDepth; d++) {
      const parent = this.#frames[d - 1]!;
      path += this.#types[d - 1] === OBJ
        ? `${path === "" ? "" : "."}${parent.key}`
        : `[${parent.index}]`;
    }
    return path === "" ? "the top-level object" : path;
  }

  /** One byte of a number; false when it ended before this byte. */
  #numberByte(c: number, at: number): boolean {
    const s = this.#number;
    const digit = c >= 0x30 && c <= 0x39;
    let next = -1;
    if (digit) {
      next = s === N_MINUS
        ? (c === 0x30 ? N_ZERO : N_INT)
        : s === N_ZERO
        ? -1
        : s === N_DOT || s === N_FRAC
        ? N_FRAC
        : s === N_E || s === N_ESIGN || s === N_EXP
        ? N_EXP
        : N_INT;
    } else if (c === 0x2e && (s === N_ZERO || s === N_INT)) next = N_DOT;
    else if (
      (c === 0x65 || c === 0x45) &&
      (s === N_ZERO || s === N_INT || s === N_FRAC)
    ) next = N_E;
    else if ((c === 0x2b || c === 0x2d) && s === N_E) next = N_ESIGN;
    if (next >= 0) {
      this.#number = next;
      this.#append(c);
      return true;
    }
    if (!NUMBER_CAN_END[s]) {
      this.#unexpected(c, at);
      return false;
    }
    this.#numberEnd();
    return false;
  }

  #numberEnd(): void {
    this.#state = S_AFTER;
    if (!this.#record) return;
    if (this.#scalarPick === undefined) return this.#done(undefined);
    const over = this.#rawLength > this.#limit;
    const value = over
      ? new Overlong("number", this.#rawLength)
      : Number(decoder.decode(this.#buffer.subarray(0, this.#length)));
    if (this.#charge(NODE_COST, undefined)) this.#done(value);
  }

  #literalByte(c: number, at: number): void {
    const literal = this.#literal!;
    if (literal.bytes[this.#literalAt] !== c) return this.#unexpected(c, at);
    if (++this.#literalAt < literal.bytes.length) return;
    this.#state = S_AFTER;
    if (!this.#record) return;
    if (this.#scalarPick === undefined) return this.#done(undefined);
    if (this.#charge(NODE_COST, at)) this.#done(literal.value);
  }
}

const decoder = new TextDecoder();

const byteCount = (n: number) => `${n} byte${n === 1 ? "" : "s"}`;
