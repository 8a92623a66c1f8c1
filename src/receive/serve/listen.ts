// Where the receiver listens. The default, "::", is every interface, IPv4
// and IPv6, as Seldon's Go receiver listens on ":8001": one socket where the
// kernel maps IPv4 onto IPv6 (Linux's default), two where it does not
// (net.ipv6.bindv6only=1), and IPv4 alone on a host without IPv6. Any other
// address is listened on as it is.

/** Every interface, IPv4 and IPv6: the default listen host. */
export const EVERY_INTERFACE = "::";

/** The sockets listened on, and what to say of them. */
export interface Listening {
  /** One, or two where IPv4 and IPv6 need a socket each; the first one's port is the port. */
  listeners: Deno.TcpListener[];
  /** What a person should know of how it listens (IPv4 only, say); null when nothing. */
  note: string | null;
}

/** How one address is bound (Deno.listen; a test brings its own). */
export type Bind = (hostname: string, port: number) => Deno.TcpListener;

/** Binds `hostname`:`port`; throws what Deno.listen throws (AddrInUse, say). */
export function listen(
  hostname: string,
  port: number,
  bind: Bind = denoBind,
): Listening {
  if (hostname !== EVERY_INTERFACE) {
    return { listeners: [bind(hostname, port)], note: null };
  }
  let v6: Deno.TcpListener;
  try {
    v6 = bind(EVERY_INTERFACE, port);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw err;
    return {
      listeners: [bind("0.0.0.0", port)],
      note: `IPv6 is not available on this host (${
        err instanceof Error ? err.message : String(err)
      }): listening on every IPv4 interface only`,
    };
  }
  try {
    // Taken by the IPv6 socket when the kernel maps IPv4 onto it.
    const v4 = bind("0.0.0.0", v6.addr.port);
    return { listeners: [v6, v4], note: null };
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      return { listeners: [v6], note: null };
    }
    v6.close();
    throw err;
  }
}

const denoBind: Bind = (hostname, port) =>
  Deno.listen({ hostname, port, transport: "tcp" });
