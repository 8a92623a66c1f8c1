// The questions of a DNS query packet (RFC 1035 §4.1): which names a process
// asked a resolver for, read from the bytes it sent.

/** One question: the name asked for and the record type. */
export interface DnsQuestion {
  /** The name asked for, without the final dot. */
  name: string;
  /** The record type: A, AAAA, HTTPS, ... (TYPEn for others, ? when cut off). */
  type: string;
}

const TYPES: Readonly<Record<number, string>> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  64: "SVCB",
  65: "HTTPS",
  255: "ANY",
};

/**
 * The questions of a DNS query (over UDP), or undefined when the bytes are
 * not one. A packet cut short (as a trace shows it) gives the name so far,
 * ending in `…`, and the type `?`.
 */
export function dnsQuestions(packet: Uint8Array): DnsQuestion[] | undefined {
  if (packet.length < 13) return undefined;
  const flags = packet[2]!; // the length is checked above
  const isQuery = (flags & 0x80) === 0 && ((flags >> 3) & 0x0f) === 0;
  const count = (packet[4]! << 8) | packet[5]!;
  if (!isQuery || count === 0 || count > 16) return undefined;
  const out: DnsQuestion[] = [];
  let at = 12;
  for (let q = 0; q < count; q++) {
    const labels: string[] = [];
    for (;;) {
      const length = packet[at];
      if (length === undefined) {
        out.push({ name: `${labels.join(".")}…`, type: "?" });
        return out;
      }
      if (length === 0) break;
      if (length > 63) return undefined;
      const label = packet.subarray(at + 1, at + 1 + length);
      if (label.length > 0) labels.push(new TextDecoder().decode(label));
      if (label.length < length) {
        out.push({ name: `${labels.join(".")}…`, type: "?" });
        return out;
      }
      at += 1 + length;
    }
    const type = at + 2 < packet.length
      ? (packet[at + 1]! << 8) | packet[at + 2]! // within the packet
      : undefined;
    out.push({
      name: labels.join(".") || ".",
      type: type === undefined ? "?" : TYPES[type] ?? `TYPE${type}`,
    });
    at += 5;
  }
  return out;
}
