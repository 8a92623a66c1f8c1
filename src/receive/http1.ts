// The receiver's HTTP/1.1 server, on Deno.listen.
//
// Deno.serve offers no header, body or keep-alive idle timeout (a client that
// drips its headers holds a connection, and a shutdown, forever) and spends
// most of a small request's cost in its own request and response objects. This
// server reads each request whole within fixed limits, hands it to a handler as
// plain data, and writes the answer in one write, so that every byte it holds is
// counted:
//
// - a request head is at most `maxHeadBytes` (431 past it) and must arrive
//   within `headerTimeoutMs` of its first byte (or of the connection);
// - a body is at most `maxBodyBytes` (413, refused by its Content-Length before
//   it is read) and must arrive within `bodyTimeoutMs` of the head; bodies being
//   read or handled hold at most `maxInFlightBytes` together (503 past it);
// - a kept-alive connection with nothing to do is closed after `idleTimeoutMs`,
//   an answer the client does not read within `bodyTimeoutMs` is abandoned, and
//   at most `maxConnections` are open (503 to the next ones);
// - shutdown(graceMs) stops accepting, closes idle connections, answers
//   requests that arrive meanwhile 503, lets requests in flight finish, and
//   closes whatever is left when the grace period is over.
//
// Framing is strict, so that nothing in front of the receiver can disagree with
// it about where a request ends: Content-Length and Transfer-Encoding together,
// two Content-Lengths, a Transfer-Encoding other than chunked, folded or
// malformed header lines are all refused with 400 and the connection closed.

export interface HttpRequest {
  /** As sent (a token, case kept). */
  method: string;
  /** The path of the request target, as sent (not percent-decoded). */
  path: string;
  /** The query of the request target without "?"; "" when none. */
  query: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Map<string, string>;
  /** The whole body (de-chunked, not decompressed); empty when none. */
  body: Uint8Array;
}

export type HttpBody =
  | string
  | Uint8Array
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>;

export interface HttpResponse {
  status: number;
  /** Header lines; content-length, transfer-encoding and connection are set here. */
  headers?: Record<string, string>;
  /** A string or bytes is sent with a Content-Length; an iterable (of chunks) is sent chunked. */
  body?: HttpBody;
}

export type HttpHandler = (
  request: HttpRequest,
) => HttpResponse | Promise<HttpResponse>;

export interface HttpLimits {
  maxHeadBytes: number;
  maxBodyBytes: number;
  maxInFlightBytes: number;
  maxConnections: number;
}

export interface HttpTimeouts {
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
}

export const HTTP_DEFAULTS: HttpLimits & HttpTimeouts = {
  maxHeadBytes: 32 * 1024,
  maxBodyBytes: 1024 * 1024,
  maxInFlightBytes: 32 * 1024 * 1024,
  maxConnections: 256,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
};

export interface HttpServerOptions
  extends Partial<HttpLimits>, Partial<HttpTimeouts> {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  handler: HttpHandler;
  /** Errors the handler threw (answered 500). */
  onError?: (error: unknown) => void;
  /**
   * The answer to a request refused after its head was read (a body over the
   * limit, a full in-flight budget, a malformed chunked body); plain text
   * unless given. The connection is closed after it.
   */
  refusal?: (
    head: RequestHead,
    status: number,
    message: string,
  ) => HttpResponse;
  /** How often deadlines are checked; 250 ms unless set. */
  sweepEveryMs?: number;
  /** Called after each piece of a streamed answer is written (to pace the heap). */
  onStreamed?: () => void;
}

/** Why a connection was closed by the server rather than by its client. */
export type CloseReason =
  | "header_timeout"
  | "body_timeout"
  | "idle_timeout"
  | "write_timeout"
  | "too_many_connections"
  | "shutdown";

export interface HttpServerStats {
  connections: number;
  inFlightBytes: number;
  /** Connections closed by the server, by reason, since start. */
  closed: Record<CloseReason, number>;
}

export interface HttpServer {
  hostname: string;
  port: number;
  /** http://host:port, with IPv6 hosts in brackets. */
  url: string;
  stats(): HttpServerStats;
  /**
   * Stops accepting, lets requests in flight finish (new ones get 503) and
   * closes every connection left after `graceMs`. Resolves once all are closed.
   */
  shutdown(graceMs: number): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const LF = 10;
/** Token characters of RFC 9110 (method and header names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII only: the path of the request target. */
const TARGET = /^[\x21-\x7e]+$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

type Phase = "idle" | "head" | "body" | "handle" | "write";

interface Connection {
  conn: Deno.Conn;
  phase: Phase;
  /** When the current phase times out (ms since the epoch). */
  deadline: number;
  closed: boolean;
  reason?: CloseReason;
}

/** A refusal decided while reading a request: answered, then the connection is closed. */
export class Refusal {
  constructor(readonly status: number, readonly message: string) {}
}

/** Binds and starts serving; throws (e.g. Deno.errors.AddrInUse) if it cannot bind. */
export function startHttpServer(options: HttpServerOptions): HttpServer {
  const o = { ...HTTP_DEFAULTS, ...stripUndefined(options) };
  const listener = Deno.listen({ hostname: o.hostname, port: o.port });
  const connections = new Set<Connection>();
  const closedBy = {
    header_timeout: 0,
    body_timeout: 0,
    idle_timeout: 0,
    write_timeout: 0,
    too_many_connections: 0,
    shutdown: 0,
  } satisfies Record<CloseReason, number>;
  let inFlight = 0;
  let draining = false;
  // Deadlines are in whole timeouts: the sweeper's clock is precise enough.
  let clock = Date.now();
  const allClosed = Promise.withResolvers<void>();

  const close = (c: Connection, reason?: CloseReason) => {
    if (c.closed) return;
    c.closed = true;
    if (reason) {
      c.reason = reason;
      closedBy[reason]++;
    }
    try {
      c.conn.close();
    } catch {
      // already closed by the peer
    }
    connections.delete(c);
    if (draining && connections.size === 0) allClosed.resolve();
  };

  const sweep = setInterval(() => {
    const now = clock = Date.now();
    for (const c of connections) {
      if (now < c.deadline) continue;
      switch (c.phase) {
        case "idle":
          close(c, "idle_timeout");
          break;
        case "head":
          answerAndClose(
            c,
            "header_timeout",
            408,
            "request head not received in time",
          );
          break;
        case "body":
          answerAndClose(
            c,
            "body_timeout",
            408,
            "request body not received in time",
          );
          break;
        case "write":
          close(c, "write_timeout");
          break;
        case "handle":
          break; // bounded by the handler itself
      }
    }
  }, o.sweepEveryMs ?? 250);

  /** A last answer that may not get through (the client is not reading): bounded. */
  const answerAndClose = (
    c: Connection,
    reason: CloseReason,
    status: number,
    message: string,
  ) => {
    c.phase = "write";
    c.deadline = Infinity;
    const bytes = encoder.encode(
      plainResponseHead(status, message.length + 1, true) + message + "\n",
    );
    const timer = setTimeout(() => close(c, reason), 200);
    c.conn.write(bytes).catch(() => {}).finally(() => {
      clearTimeout(timer);
      close(c, reason);
    });
  };

  const reserve = (n: number): boolean => {
    if (inFlight + n > o.maxInFlightBytes) return false;
    inFlight += n;
    return true;
  };
  const release = (n: number) => {
    inFlight -= n;
  };

  const serveConnection = async (c: Connection) => {
    const { conn } = c;
    let buf: Uint8Array = new Uint8Array(4096);
    let len = 0;
    const handler = options.handler;
    // Body bytes counted against the in-flight budget, given back however the request ends.
    let reserved = 0;
    let current: RequestHead | undefined;
    const progress = () => {
      // The deadline is for a client that stops reading, not for a long answer.
      c.deadline = clock + o.bodyTimeoutMs;
      o.onStreamed?.();
    };
    try {
      for (;;) {
        // ---- head
        c.phase = len > 0 ? "head" : "idle";
        c.deadline = clock +
          (len > 0 ? o.headerTimeoutMs : o.idleTimeoutMs);
        let headEnd = -1;
        let headText = "";
        let scanned = 0;
        let attempts = 0;
        for (;;) {
          // Blank lines before a request line are skipped (RFC 9112 §2.2).
          let skip = 0;
          while (
            skip + 1 < len && buf[skip] === CR && buf[skip + 1] === LF
          ) skip += 2;
          if (skip > 0) {
            buf.copyWithin(0, skip, len);
            len -= skip;
            scanned = 0;
          }
          if (len > 0 && attempts++ === 0 && len <= FAST_HEAD_BYTES) {
            // Most heads come whole in one read: decode once and search the
            // text. One character for each byte means the positions agree.
            const text = decoder.decode(buf.subarray(0, len));
            if (text.length === len) {
              const at = text.indexOf("\r\n\r\n");
              if (at >= 0) {
                headEnd = at + 4;
                headText = text.slice(0, at);
                break;
              }
            }
          }
          headEnd = findHeadEnd(buf, len, scanned);
          if (headEnd >= 0) {
            headText = decoder.decode(buf.subarray(0, headEnd - 4));
            break;
          }
          scanned = Math.max(0, len - 3);
          if (len >= o.maxHeadBytes) {
            throw new Refusal(
              431,
              `request head larger than ${o.maxHeadBytes} bytes`,
            );
          }
          if (len === buf.length) {
            const bigger = new Uint8Array(
              Math.min(buf.length * 4, o.maxHeadBytes),
            );
            bigger.set(buf);
            buf = bigger;
          }
          const n = await conn.read(buf.subarray(len));
          if (n === null) return; // the client hung up between requests
          if (len === 0) {
            c.phase = "head";
            c.deadline = clock + o.headerTimeoutMs;
            attempts = 0;
          }
          len += n;
        }
        const head = parseHead(headText);
        if (head instanceof Refusal) throw head;
        current = head;
        let keepAlive = head.keepAlive;
        // A request whose head came before the shutdown is served; later ones are not.
        const admitted = !draining;

        // ---- body
        const rest = len - headEnd;
        buf.copyWithin(0, headEnd, len);
        len = rest;
        let body: Uint8Array = EMPTY;
        c.phase = "body";
        c.deadline = clock + o.bodyTimeoutMs;
        if (head.contentLength > 0) {
          if (head.contentLength > o.maxBodyBytes) {
            throw new Refusal(
              413,
              `request too large: the body is over ${o.maxBodyBytes} bytes`,
            );
          }
          if (!reserve(head.contentLength)) throw busy();
          reserved = head.contentLength;
          if (head.expectContinue && rest < head.contentLength) {
            await writeAll(conn, CONTINUE);
          }
          body = new Uint8Array(head.contentLength);
          const taken = Math.min(rest, head.contentLength);
          body.set(buf.subarray(0, taken));
          buf.copyWithin(0, taken, len);
          len -= taken;
          let got = taken;
          while (got < body.length) {
            const n = await conn.read(body.subarray(got));
            if (n === null) return; // hung up mid-body: nothing to answer
            got += n;
          }
        } else if (head.chunked) {
          if (head.expectContinue) await writeAll(conn, CONTINUE);
          const read = await readChunked(
            conn,
            { buf, len },
            o.maxBodyBytes,
            o.maxHeadBytes,
            (n) => {
              if (!reserve(n)) return false;
              reserved += n;
              return true;
            },
          );
          if (read === null) return;
          ({ buf, len } = read.rest);
          body = read.body;
        }

        // ---- handle
        let response: HttpResponse;
        if (!admitted) {
          keepAlive = false;
          response = {
            status: 503,
            headers: {
              "content-type": "text/plain; charset=utf-8",
              "retry-after": "5",
            },
            body: "the receiver is shutting down; send it again\n",
          };
        } else {
          c.phase = "handle";
          c.deadline = Infinity;
          try {
            response = await handler({
              method: head.method,
              path: head.path,
              query: head.query,
              headers: head.headers,
              body,
            });
          } catch (err) {
            o.onError?.(err);
            response = {
              status: 500,
              headers: { "content-type": "text/plain; charset=utf-8" },
              body: "internal error\n",
            };
          }
        }
        body = EMPTY;
        release(reserved);
        reserved = 0;
        current = undefined;

        // ---- answer
        if (draining) keepAlive = false;
        // HTTP/1.0 has no chunked encoding: a streamed body ends with the connection.
        if (head.http10 && !isWhole(response.body)) keepAlive = false;
        c.phase = "write";
        c.deadline = clock + o.bodyTimeoutMs;
        // A shared answer already written once goes out as the same bytes.
        const cached = keepAlive && !head.http10 && head.method !== "HEAD"
          ? encodedAnswers.get(response)
          : undefined;
        if (cached !== undefined) {
          await writeAll(conn, cached);
        } else {
          await writeResponse(
            conn,
            response,
            keepAlive,
            head.http10,
            head.method === "HEAD",
            progress,
          );
        }
        if (!keepAlive || c.closed) {
          close(c);
          return;
        }
      }
    } catch (err) {
      if (c.closed) return;
      if (err instanceof Refusal) {
        const answer = current && o.refusal
          ? o.refusal(current, err.status, err.message)
          : undefined;
        await refuseAndLinger(c, err, answer, o.bodyTimeoutMs);
        return;
      }
      // Reset by the peer, or closed under a read by a timeout: nothing to answer.
    } finally {
      release(reserved);
      close(c);
    }
  };

  /** Answers a refusal, then reads and drops what the client still sends, briefly, so it can read the answer. */
  const refuseAndLinger = async (
    c: Connection,
    refusal: Refusal,
    answer: HttpResponse | undefined,
    lingerMs: number,
  ) => {
    c.phase = "write";
    c.deadline = clock + Math.min(lingerMs, 2_000);
    const message = refusal.message + "\n";
    try {
      if (answer) {
        await writeResponse(c.conn, answer, false, false, false);
      } else {
        await writeAll(
          c.conn,
          encoder.encode(
            plainResponseHead(refusal.status, byteLength(message), true) +
              message,
          ),
        );
      }
      await c.conn.closeWrite();
      const sink = new Uint8Array(16 * 1024);
      for (let drained = 0; drained < 4 * 1024 * 1024;) {
        const n = await c.conn.read(sink);
        if (n === null) break;
        drained += n;
      }
    } catch {
      // the client went away first
    }
  };

  const busy = () =>
    new Refusal(
      503,
      "the receiver is busy with other requests' bodies; send it again",
    );

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed by shutdown
      }
      const c: Connection = {
        conn,
        phase: "idle",
        deadline: clock + o.headerTimeoutMs,
        closed: false,
      };
      if (connections.size >= o.maxConnections) {
        connections.add(c);
        answerAndClose(
          c,
          "too_many_connections",
          503,
          "too many connections; send it again",
        );
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay?.(true);
      } catch {
        // not a TCP socket option this platform has
      }
      connections.add(c);
      serveConnection(c);
    }
  })();

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    stopping ??= (async () => {
      draining = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      await acceptLoop;
      for (const c of connections) {
        if (c.phase === "idle") close(c, "shutdown");
      }
      if (connections.size === 0) allClosed.resolve();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        allClosed.promise,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      for (const c of [...connections]) close(c, "shutdown");
      clearInterval(sweep);
    })();

  const { hostname, port } = listener.addr as Deno.NetAddr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    hostname,
    port,
    url: `http://${host}:${port}`,
    stats: () => ({
      connections: connections.size,
      inFlightBytes: inFlight,
      closed: { ...closedBy },
    }),
    shutdown,
  };
}

const EMPTY = new Uint8Array(0);
/** Heads searched as text when they arrive whole in one read of at most this. */
const FAST_HEAD_BYTES = 16 * 1024;
/** Bytes of a streamed answer written at a time. */
const STREAM_PIECE = 48 * 1024;
const isWhole = (body: HttpBody | undefined) =>
  body === undefined || typeof body === "string" || body instanceof Uint8Array;
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

/** Index just past the CRLFCRLF ending a head, or -1; `from` skips bytes already scanned. */
export function findHeadEnd(buf: Uint8Array, len: number, from: number) {
  const view = len === buf.length ? buf : buf.subarray(0, len);
  for (
    let i = view.indexOf(LF, Math.max(from, 3));
    i >= 0;
    i = view.indexOf(LF, i + 1)
  ) {
    if (buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) {
      return i + 1;
    }
  }
  return -1;
}

/** Optional whitespace around a header value: space and tab. */
const isBlank = (c: number) => c === 32 || c === 9;

export interface RequestHead {
  method: string;
  path: string;
  query: string;
  headers: Map<string, string>;
  http10: boolean;
  keepAlive: boolean;
  contentLength: number;
  chunked: boolean;
  expectContinue: boolean;
}

/** A request head (without its final CRLFCRLF) as data, or why it is refused. */
export function parseHead(text: string): RequestHead | Refusal {
  // By positions rather than splits: the request line is often a kilobyte.
  let lineEnd = text.indexOf("\r\n");
  if (lineEnd < 0) lineEnd = text.length;
  const firstSpace = text.indexOf(" ");
  const lastSpace = text.lastIndexOf(" ", lineEnd - 1);
  if (
    firstSpace <= 0 || lastSpace <= firstSpace + 1 || firstSpace > lineEnd ||
    text.indexOf(" ", firstSpace + 1) !== lastSpace
  ) {
    return new Refusal(400, "malformed request line");
  }
  const method = text.slice(0, firstSpace);
  const target = text.slice(firstSpace + 1, lastSpace);
  const version = text.slice(lastSpace + 1, lineEnd);
  if (!TOKEN.test(method)) return new Refusal(400, "malformed method");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    return new Refusal(400, "only HTTP/1.0 and HTTP/1.1 are spoken here");
  }
  let pathAndQuery = target;
  if (target.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (as sent to proxies): keep its path and query
    const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (m === null) return new Refusal(400, "malformed request target");
    pathAndQuery = m[1] === "" ? "/" : m[1];
    if (!pathAndQuery.startsWith("/") && !pathAndQuery.startsWith("?")) {
      return new Refusal(400, "malformed request target");
    }
    if (pathAndQuery.startsWith("?")) pathAndQuery = "/" + pathAndQuery;
  }
  const hash = pathAndQuery.indexOf("#");
  if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
  const q = pathAndQuery.indexOf("?");
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? "" : pathAndQuery.slice(q + 1);
  // The path is visible ASCII; the query (often a kilobyte) holds no space
  // nor line break by construction, and is only ever read as parameters.
  if (!TARGET.test(path)) {
    return new Refusal(400, "malformed request target");
  }

  const headers = new Map<string, string>();
  let lengths = 0;
  for (let start = lineEnd + 2; start < text.length;) {
    let end = text.indexOf("\r\n", start);
    if (end < 0) end = text.length;
    const colon = text.indexOf(":", start);
    if (colon <= start || colon > end) {
      return new Refusal(400, "malformed header line");
    }
    const name = text.slice(start, colon);
    if (!TOKEN.test(name)) return new Refusal(400, "malformed header name");
    let from = colon + 1;
    let to = end;
    while (from < to && isBlank(text.charCodeAt(from))) from++;
    while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
    const value = text.slice(from, to);
    if (BAD_VALUE.test(value)) {
      return new Refusal(400, "control character in a header value");
    }
    const key = name.toLowerCase();
    if (key === "content-length") lengths++;
    const known = headers.get(key);
    headers.set(key, known === undefined ? value : `${known}, ${value}`);
    start = end + 2;
  }
  const http10 = version === "HTTP/1.0";
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = http10
    ? /(^|,)\s*keep-alive\s*(,|$)/.test(connection)
    : !/(^|,)\s*close\s*(,|$)/.test(connection);
  const te = headers.get("transfer-encoding");
  const cl = headers.get("content-length");
  if (te !== undefined && cl !== undefined) {
    return new Refusal(
      400,
      "both Content-Length and Transfer-Encoding: the body's length is ambiguous",
    );
  }
  if (lengths > 1) {
    return new Refusal(400, "more than one Content-Length");
  }
  let contentLength = 0;
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) {
      return new Refusal(400, "malformed Content-Length");
    }
    contentLength = Number(cl);
  }
  let chunked = false;
  if (te !== undefined) {
    if (te.toLowerCase() !== "chunked" || http10) {
      return new Refusal(
        400,
        "only Transfer-Encoding: chunked is accepted (HTTP/1.1)",
      );
    }
    chunked = true;
  }
  const expectContinue =
    (headers.get("expect") ?? "").toLowerCase() === "100-continue";
  return {
    method,
    path,
    query,
    headers,
    http10,
    keepAlive,
    contentLength,
    chunked,
    expectContinue,
  };
}

interface Buffered {
  buf: Uint8Array;
  len: number;
}

/**
 * Reads a chunked body from what is buffered and the connection. Null when the
 * client hung up. `reserve` is asked for each chunk's bytes before they are kept.
 */
async function readChunked(
  conn: Deno.Conn,
  start: Buffered,
  maxBody: number,
  maxLine: number,
  reserve: (n: number) => boolean,
): Promise<{ body: Uint8Array; rest: Buffered } | null> {
  let { buf, len } = start;
  let at = 0;
  const chunks: Uint8Array[] = [];
  let total = 0;

  /** Ensures `n` bytes are buffered from `at`; false on EOF. */
  const fill = async (n: number): Promise<boolean> => {
    if (at > 0 && len - at < n) {
      buf.copyWithin(0, at, len);
      len -= at;
      at = 0;
    }
    while (len - at < n) {
      if (at + n > buf.length) {
        const bigger = new Uint8Array(Math.max(at + n, buf.length * 2));
        bigger.set(buf.subarray(0, len));
        buf = bigger;
      }
      const got = await conn.read(buf.subarray(len));
      if (got === null) return false;
      len += got;
    }
    return true;
  };
  /** The next CRLF-terminated line (without CRLF); null on EOF. */
  const line = async (): Promise<string | null> => {
    // Bytes after `at` already looked at: `fill` may move the buffer.
    for (let looked = 0;;) {
      for (let i = at + Math.max(looked, 1); i < len; i++) {
        if (buf[i] === LF && buf[i - 1] === CR) {
          const text = decoder.decode(buf.subarray(at, i - 1));
          at = i + 1;
          return text;
        }
      }
      looked = len - at;
      if (looked >= maxLine) {
        throw new Refusal(400, "malformed chunked body: line too long");
      }
      if (!(await fill(looked + 1))) return null;
    }
  };

  for (;;) {
    const sizeLine = await line();
    if (sizeLine === null) return null;
    const m = /^([0-9a-fA-F]{1,8})(;.*)?$/.exec(sizeLine);
    if (m === null) throw new Refusal(400, "malformed chunk size");
    const size = parseInt(m[1], 16);
    if (size === 0) break;
    if (total + size > maxBody) {
      throw new Refusal(
        413,
        `request too large: the body is over ${maxBody} bytes`,
      );
    }
    if (!reserve(size)) {
      throw new Refusal(
        503,
        "the receiver is busy with other requests' bodies; send it again",
      );
    }
    const chunk = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      if (len - at === 0 && !(await fill(1))) return null;
      const take = Math.min(size - got, len - at);
      chunk.set(buf.subarray(at, at + take), got);
      at += take;
      got += take;
    }
    chunks.push(chunk);
    total += size;
    if (!(await fill(2))) return null;
    if (buf[at] !== CR || buf[at + 1] !== LF) {
      throw new Refusal(400, "malformed chunked body: missing CRLF");
    }
    at += 2;
  }
  // Trailer fields are read and ignored, up to the blank line.
  for (let trailers = 0;;) {
    const trailer = await line();
    if (trailer === null) return null;
    if (trailer === "") break;
    trailers += trailer.length;
    if (trailers > maxLine) {
      throw new Refusal(400, "malformed chunked body: trailers too long");
    }
  }
  buf.copyWithin(0, at, len);
  len -= at;
  let body: Uint8Array = EMPTY;
  if (chunks.length === 1) body = chunks[0];
  else if (chunks.length > 1) {
    body = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      body.set(c, o);
      o += c.length;
    }
  }
  return { body, rest: { buf, len } };
}

function plainResponseHead(
  status: number,
  length: number,
  close: boolean,
): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n` +
    "content-type: text/plain; charset=utf-8\r\n" +
    "x-content-type-options: nosniff\r\n" +
    `content-length: ${length}\r\n` +
    (close ? "connection: close\r\n" : "") + "\r\n";
}

function byteLength(text: string): number {
  // ASCII fast path: the common case for the receiver's own answers.
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text)
    ? text.length
    : encoder.encode(text).length;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(at === 0 ? bytes : bytes.subarray(at));
  }
}

/** The bytes of frozen (shared) answers, kept-alive HTTP/1.1: written as they are. */
const encodedAnswers = new WeakMap<HttpResponse, Uint8Array>();

async function writeResponse(
  conn: Deno.Conn,
  response: HttpResponse,
  keepAlive: boolean,
  http10: boolean,
  headOnly: boolean,
  /** Called after each piece of a streamed answer is written. */
  onStreamed?: () => void,
): Promise<void> {
  const shared = keepAlive && !http10 && !headOnly &&
    typeof response.body === "string" && Object.isFrozen(response);
  if (shared) {
    const bytes = encodedAnswers.get(response);
    if (bytes) return await writeAll(conn, bytes);
  }
  let head = `HTTP/1.1 ${response.status} ${
    REASONS[response.status] ?? "Unknown"
  }\r\n`;
  for (const name in response.headers) {
    head += `${name}: ${response.headers[name]}\r\n`;
  }
  if (!keepAlive) head += "connection: close\r\n";
  else if (http10) head += "connection: keep-alive\r\n";
  const body = response.body ?? "";
  if (typeof body === "string") {
    head += `content-length: ${byteLength(body)}\r\n\r\n`;
    const bytes = encoder.encode(headOnly ? head : head + body);
    if (shared) encodedAnswers.set(response, bytes);
    await writeAll(conn, bytes);
    return;
  }
  if (body instanceof Uint8Array) {
    head += `content-length: ${body.length}\r\n\r\n`;
    const headBytes = encoder.encode(head);
    if (headOnly) return await writeAll(conn, headBytes);
    const all = new Uint8Array(headBytes.length + body.length);
    all.set(headBytes);
    all.set(body, headBytes.length);
    await writeAll(conn, all);
    return;
  }
  // No chunked encoding in HTTP/1.0: the end of the body is the close.
  const chunked = !http10;
  head += chunked ? "transfer-encoding: chunked\r\n\r\n" : "\r\n";
  await writeAll(conn, encoder.encode(head));
  if (headOnly) return;
  // Pieces of a streamed answer go out through one buffer of STREAM_PIECE
  // bytes, whatever their size: a large piece never becomes a large copy.
  const out = new Uint8Array(STREAM_PIECE + 16);
  const frame = async (bytes: Uint8Array) => {
    if (!chunked) return await writeAll(conn, bytes);
    const size = encoder.encodeInto(`${bytes.length.toString(16)}\r\n`, out);
    out.set(bytes, size.written);
    out[size.written + bytes.length] = CR;
    out[size.written + bytes.length + 1] = LF;
    await writeAll(conn, out.subarray(0, size.written + bytes.length + 2));
  };
  const piece = new Uint8Array(STREAM_PIECE);
  for await (const chunk of body) {
    if (typeof chunk === "string") {
      for (let at = 0; at < chunk.length;) {
        // Slices stop short of STREAM_PIECE bytes even at 3 bytes a character.
        const { read, written } = encoder.encodeInto(
          chunk.slice(at, at + STREAM_PIECE / 3),
          piece,
        );
        at += read;
        await frame(piece.subarray(0, written));
        onStreamed?.();
      }
    } else {
      for (let at = 0; at < chunk.length; at += STREAM_PIECE) {
        await frame(chunk.subarray(at, at + STREAM_PIECE));
        onStreamed?.();
      }
    }
  }
  if (chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
}
