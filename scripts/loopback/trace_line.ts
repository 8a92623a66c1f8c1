// One line of `strace -f -x` output, read: the process, the system call, its
// string arguments decoded to bytes, and the socket addresses it names.
//
//   1234  connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16) = 0
//   1234  sendto(3, "\x12\x34...", 40, MSG_NOSIGNAL, NULL, 0 <unfinished ...>
//   1235  <... clone3 resumed>)             = 1240
//   1240  +++ exited with 0 +++

/** A system call as one line shows it. */
export interface TraceLine {
  /** The thread that made the call (strace -f prints thread ids). */
  pid: number;
  /** The call's name: connect, sendto, execve, ... */
  syscall: string;
  /** The continuation of a call another line began (`<... name resumed>`). */
  resumed: boolean;
  /**
   * The line after the call's name, each string argument replaced by `"#n"`
   * (n its index in `strings`), so that addresses and flags can be matched
   * without a string's contents posing as them.
   */
  skeleton: string;
  /** The string arguments, decoded, in order. */
  strings: Uint8Array[];
  /** The return value, when this line has it and it is a number. */
  result?: number;
}

/** A process's end, as `-f` without `-qq` shows it. */
export interface TraceExit {
  /** The process (or thread) that ended. */
  pid: number;
  /** How: `exited with 0`, `killed by SIGKILL`. */
  exit: string;
}

/** An IPv4 or IPv6 socket address a call names. */
export interface InetAddress {
  /** The IP address as strace prints it: 127.0.0.1, ::1, ... */
  address: string;
  /** The port number. */
  port: number;
}

const utf8 = new TextEncoder();

const ESCAPES: Readonly<Record<string, number>> = {
  n: 10,
  t: 9,
  r: 13,
  v: 11,
  f: 12,
  "\\": 92,
  '"': 34,
};

/**
 * Reads the string literal that starts at `text[start]` (a `"`), in strace's
 * escapes (`\xNN`, octal, C escapes): its bytes and the index after it.
 */
export function readStraceString(
  text: string,
  start: number,
): { bytes: Uint8Array; end: number } {
  const bytes: number[] = [];
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    const c = text[i]!; // i < text.length
    if (c !== "\\") {
      const code = c.charCodeAt(0);
      if (code < 0x80) bytes.push(code);
      else bytes.push(...utf8.encode(c));
      i++;
      continue;
    }
    const next = text[i + 1] ?? "";
    const hex = /^x([0-9a-fA-F]{2})/.exec(text.slice(i + 1, i + 4));
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
    if (hex) {
      bytes.push(parseInt(hex[1]!, 16)); // the group is in the pattern
      i += 4;
    } else if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += 1 + octal[0].length;
    } else {
      bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
      i += 2;
    }
  }
  return { bytes: new Uint8Array(bytes), end: i + 1 };
}

/** `text` with its string literals as `"#n"`, and their bytes. */
function skeletonOf(text: string): { skeleton: string; strings: Uint8Array[] } {
  const strings: Uint8Array[] = [];
  let skeleton = "";
  let i = 0;
  while (i < text.length) {
    const quote = text.indexOf('"', i);
    if (quote < 0) {
      skeleton += text.slice(i);
      break;
    }
    const { bytes, end } = readStraceString(text, quote);
    skeleton += `${text.slice(i, quote)}"#${strings.length}"`;
    strings.push(bytes);
    i = end;
  }
  return { skeleton, strings };
}

const CALL = /^(\d+)\s+(?:<\.\.\. (\w+) resumed>(.*)|(\w+)\((.*))$/s;
const EXIT = /^(\d+)\s+\+\+\+ (.*) \+\+\+$/;

/** A line of `strace -f` output: a call, a process's end, or undefined for anything else. */
export function parseTraceLine(
  line: string,
): TraceLine | TraceExit | undefined {
  const exit = EXIT.exec(line);
  if (exit) return { pid: Number(exit[1]), exit: exit[2]! }; // both groups always match
  const m = CALL.exec(line);
  if (!m) return undefined;
  const { skeleton, strings } = skeletonOf(m[3] ?? m[5] ?? "");
  const result = /\)\s+=\s+(-?\d+)(?:\s.*)?$/.exec(skeleton)?.[1];
  return {
    pid: Number(m[1]),
    syscall: m[2] ?? m[4] ?? "",
    resumed: m[2] !== undefined,
    skeleton,
    strings,
    result: result === undefined ? undefined : Number(result),
  };
}

const latin1 = new TextDecoder("latin1");

const INET4 =
  /sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("#(\d+)"\)/g;
const INET6 =
  /sa_family=AF_INET6, sin6_port=htons\((\d+)\), [^{}]*?inet_pton\(AF_INET6, "#(\d+)"/g;

/** Every IPv4 and IPv6 socket address the call names, in order. */
export function inetAddresses(line: TraceLine): InetAddress[] {
  const found: { at: number; address: InetAddress }[] = [];
  for (const pattern of [INET4, INET6]) {
    for (const m of line.skeleton.matchAll(pattern)) {
      const text = line.strings[Number(m[2])];
      if (text === undefined) continue;
      found.push({
        at: m.index,
        address: { address: latin1.decode(text), port: Number(m[1]) },
      });
    }
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.address);
}

/** The first argument when it is a file descriptor (a number). */
export function fdArgument(line: TraceLine): number | undefined {
  const m = /^(\d+),/.exec(line.skeleton);
  return m ? Number(m[1]) : undefined;
}

/** The program and arguments of an `execve` line. */
export function execArgv(line: TraceLine): string[] {
  const list = /^"#\d+", \[([^\]]*)\]/.exec(line.skeleton)?.[1] ?? "";
  return [...list.matchAll(/"#(\d+)"/g)].map((m) =>
    new TextDecoder().decode(line.strings[Number(m[1])])
  );
}

/** Whether an IP address is a loopback one (127.0.0.0/8, ::1, or 127/8 mapped into IPv6). */
export function isLoopback(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, "");
  return /^127\.\d+\.\d+\.\d+$/.test(v4) || address === "::1";
}
