// What a traced run sent beyond loopback, read line by line from `strace -f`
// output: every connect() to an address outside 127.0.0.0/8 and ::1, every
// datagram sent to one, and every DNS query (anything to port 53, loopback
// included: a local resolver forwards what it is asked), with the names
// asked for and the command of the process that asked.

import { dnsQuestions } from "./dns_question.ts";
import {
  execArgv,
  fdArgument,
  type InetAddress,
  inetAddresses,
  isLoopback,
  parseTraceLine,
  type TraceLine,
} from "./trace_line.ts";

/** One kind of traffic beyond loopback, by one command. */
export interface Finding {
  /** What was sent where: `DNS query for x.invalid (A, AAAA) to 10.0.0.53:53`. */
  what: string;
  /** The command of the process that sent it. */
  command: string;
  /** How many calls (connections, datagrams) or query packets. */
  count: number;
}

const DNS_PORT = 53;
const SENDS = new Set(["sendto", "sendmsg", "sendmmsg"]);
const FORKS = new Set(["clone", "clone3", "fork", "vfork"]);

/** `host:port`, IPv6 in brackets. */
export function endpoint(a: InetAddress): string {
  return a.address.includes(":")
    ? `[${a.address}]:${a.port}`
    : `${a.address}:${a.port}`;
}

interface DnsUse {
  to: string;
  pid: number;
  /** The names asked for, each with the record types asked. */
  questions: Map<string, Set<string>>;
  packets: number;
}

/** Reads a trace line by line and keeps what left loopback. */
export class TraceAudit {
  #parent = new Map<number, number>();
  #argv = new Map<number, string[]>();
  #threads = new Set<number>();
  /** Calls whose result is on a later line, by thread. */
  #pending = new Map<number, TraceLine>();
  /** IPv4 and IPv6 UDP sockets (`process:fd`), and where connected ones point. */
  #datagramSockets = new Set<string>();
  #datagramPeers = new Map<string, InetAddress>();
  #exited = new Set<number>();
  #dnsSockets = new Map<string, DnsUse>();
  #dns: DnsUse[] = [];
  #other = new Map<string, Finding>();
  /** The first process of the trace: the command that was run. */
  main?: number;
  /** Calls naming an IPv4 or IPv6 address, loopback or not. */
  inetCalls = 0;

  /** Takes one line of the trace. */
  add(text: string): void {
    const line = parseTraceLine(text);
    if (line === undefined) return;
    this.main ??= line.pid;
    if ("exit" in line) {
      this.#exited.add(line.pid);
      return;
    }
    if (line.resumed) {
      // The arguments were on the line that started the call.
      const entry = this.#pending.get(line.pid);
      this.#pending.delete(line.pid);
      if (entry?.syscall === line.syscall && line.result !== undefined) {
        this.#completed({ ...entry, result: line.result });
      }
      return;
    }
    this.#started(line);
    const { result } = line;
    if (result !== undefined) this.#completed({ ...line, result });
    else this.#pending.set(line.pid, line);
  }

  /** What a call's arguments say: where it sends, what it runs. */
  #started(line: TraceLine): void {
    if (line.syscall === "connect") this.#connect(line);
    else if (SENDS.has(line.syscall)) this.#send(line);
    else if (line.syscall === "execve") {
      const argv = execArgv(line);
      // Chromium starts its helpers as /proc/self/exe: name the program.
      if (argv[0] === "/proc/self/exe") {
        argv[0] = this.#argvOf(line.pid)?.[0] ?? argv[0];
      }
      this.#argv.set(line.pid, argv);
    }
  }

  /** What a call's result says: a new process or thread, a new socket. */
  #completed(line: TraceLine & { result: number }): void {
    if (FORKS.has(line.syscall) && line.result > 0) {
      this.#parent.set(line.result, line.pid);
      if (line.skeleton.includes("CLONE_THREAD")) {
        this.#threads.add(line.result);
      }
    } else if (line.syscall === "socket" && line.result >= 0) {
      const key = `${this.#process(line.pid)}:${line.result}`;
      const inet = /^AF_INET6?, SOCK_DGRAM/.test(line.skeleton);
      if (inet) this.#datagramSockets.add(key);
      else this.#datagramSockets.delete(key);
    }
  }

  /** The process a thread belongs to (sockets are the process's). */
  #process(pid: number): number {
    let p = pid;
    for (let hops = 0; this.#threads.has(p) && hops < 64; hops++) {
      p = this.#parent.get(p) ?? p;
    }
    return p;
  }

  #socketKey(line: TraceLine): string {
    return `${this.#process(line.pid)}:${fdArgument(line)}`;
  }

  #connect(line: TraceLine): void {
    const to = inetAddresses(line)[0];
    const key = this.#socketKey(line);
    this.#dnsSockets.delete(key);
    this.#datagramPeers.delete(key);
    if (to === undefined) return;
    this.inetCalls++;
    if (to.port === DNS_PORT) {
      this.#dnsSockets.set(key, this.#dnsUse(line.pid, to));
    } else if (isLoopback(to.address)) {
      return;
    } else if (this.#datagramSockets.has(key)) {
      // Connecting a UDP socket sends nothing (Chromium does it to learn
      // whether IPv6 is routed); what is sent on it afterwards counts.
      this.#datagramPeers.set(key, to);
    } else {
      this.#note(line.pid, `connection to ${endpoint(to)}`);
    }
  }

  #send(line: TraceLine): void {
    const targets = inetAddresses(line);
    if (targets.length > 0) this.inetCalls++;
    const key = this.#socketKey(line);
    const dns = targets.find((t) => t.port === DNS_PORT);
    const use = dns ? this.#dnsUse(line.pid, dns) : this.#dnsSockets.get(key);
    if (use) this.#questions(use, line);
    const peer = targets.length === 0
      ? this.#datagramPeers.get(key)
      : undefined;
    for (const t of peer ? [peer] : targets) {
      if (t.port !== DNS_PORT && !isLoopback(t.address)) {
        this.#note(line.pid, `datagram to ${endpoint(t)}`);
      }
    }
  }

  /** The DNS questions among what a call sends. */
  #questions(use: DnsUse, line: TraceLine): void {
    for (const bytes of line.strings) {
      const questions = dnsQuestions(bytes);
      if (!questions) continue;
      use.packets++;
      for (const q of questions) {
        const types = use.questions.get(q.name) ?? new Set<string>();
        use.questions.set(q.name, types.add(q.type));
      }
    }
  }

  #dnsUse(pid: number, to: InetAddress): DnsUse {
    const use = {
      to: endpoint(to),
      pid,
      questions: new Map(),
      packets: 0,
    };
    this.#dns.push(use);
    return use;
  }

  #note(pid: number, what: string): void {
    const command = this.command(pid);
    const key = `${what}\n${command}`;
    const seen = this.#other.get(key);
    if (seen) seen.count++;
    else this.#other.set(key, { what, command, count: 1 });
  }

  /** The command a process (or thread) runs: its own execve, else its parent's. */
  command(pid: number): string {
    const argv = this.#argvOf(pid);
    return argv ? describeCommand(argv) : `process ${pid}`;
  }

  #argvOf(pid: number): string[] | undefined {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; hops++) {
      const argv = this.#argv.get(p);
      if (argv) return argv;
      p = this.#parent.get(p);
    }
    return undefined;
  }

  /** Processes (not threads) that started and have not ended, with their commands. */
  running(): { pid: number; command: string }[] {
    const pids = new Set([...this.#argv.keys(), ...this.#parent.keys()]);
    return [...pids]
      .filter((p) => !this.#threads.has(p) && !this.#exited.has(p))
      .map((pid) => ({ pid, command: this.command(pid) }));
  }

  /** Everything that left loopback, grouped by what, where and by which command. */
  findings(): Finding[] {
    const dns = new Map<string, Finding & { types: Set<string> }>();
    for (const use of this.#dns) {
      const command = this.command(use.pid);
      const asked = use.questions.size > 0
        ? use.questions
        : new Map([["(no query seen)", new Set<string>()]]);
      for (const [name, types] of asked) {
        const key = `${name}\n${use.to}\n${command}`;
        const found = dns.get(key) ??
          { what: "", command, count: 0, types: new Set<string>() };
        types.forEach((t) => found.types.add(t));
        found.what = `DNS query for ${name}${
          found.types.size ? ` (${[...found.types].sort().join(", ")})` : ""
        } to ${use.to}`;
        found.count += Math.max(use.packets, 1);
        dns.set(key, found);
      }
    }
    const grouped = [...dns.values()].map(({ what, command, count }) => ({
      what,
      command,
      count,
    }));
    return [...grouped, ...this.#other.values()].sort((a, b) =>
      b.count - a.count || (a.what < b.what ? -1 : a.what > b.what ? 1 : 0)
    );
  }
}

/**
 * A command line short enough for one line of a report: the program's name,
 * its words that are not options, and how many options there were.
 */
export function describeCommand(argv: string[]): string {
  const [program = "?", ...args] = argv;
  const words = args.filter((a) => !a.startsWith("-"))
    .map((w) => w.length > 60 ? `...${w.slice(-57)}` : w);
  const options = args.length - words.length;
  return [
    program.split("/").at(-1) ?? program,
    ...words,
    ...(options > 0 ? [`(${options} options)`] : []),
  ].join(" ");
}

/** The report's lines: one per finding, with its count and command. */
export function formatFindings(findings: Finding[]): string[] {
  return findings.map((f) => `  ${f.count} × ${f.what}, by: ${f.command}`);
}
