// `-p [HOSTIP:]HOSTPORT:PORT[/tcp]`: a userspace TCP proxy in the minic process from a host port
// to the container's address. Chosen over iptables DNAT: it leaves no firewall state behind
// (even when minic is SIGKILLed the socket closes with the process), works for 127.0.0.1
// without route_localnet, and does not depend on iptables-legacy vs nft.
import { createServer, connect, type Server, type Socket } from "node:net";
import { MinicError } from "../core/errors.js";

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  port: number;
}

/** Pure: parses `-p` values. */
export function parsePortMapping(v: string): PortMapping {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/tcp)?$/.exec(v.trim());
  const bad = () => new MinicError("EUSAGE", `invalid port mapping '${v}'`, { hint: "use -p HOSTPORT:PORT or -p 127.0.0.1:HOSTPORT:PORT (TCP)" });
  if (!m) throw bad();
  const hostPort = Number(m[2]);
  const port = Number(m[3]);
  if (hostPort < 1 || hostPort > 65535 || port < 1 || port > 65535) throw bad();
  return { hostIp: m[1] ?? "0.0.0.0", hostPort, port };
}

/** Running proxies; `close()` stops listening and drops open connections. */
export interface PortProxies {
  close(): Promise<void>;
}

/** Listens on every mapping's host port and forwards connections to `targetIp:port`. */
export async function startPortProxies(mappings: readonly PortMapping[], targetIp: string): Promise<PortProxies> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  const close = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  };
  try {
    for (const m of mappings) {
      const srv = createServer((client) => {
        track(client);
        const upstream = connect({ host: targetIp, port: m.port });
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        srv.once("error", (e: NodeJS.ErrnoException) =>
          reject(e.code === "EADDRNOTAVAIL"
            ? new MinicError("EHOST", `cannot publish ${m.hostIp}:${m.hostPort}: ${m.hostIp} is not an address of this host`, { hint: "give -p one of this host's addresses (see 'ip addr'), 127.0.0.1, or none for all (-p HOSTPORT:PORT)" })
            : new MinicError("EHOST", `cannot publish ${m.hostIp}:${m.hostPort}: ${e.code === "EADDRINUSE" ? "the port is in use" : e.message}`, { hint: "pick another host port with -p" })));
        srv.listen(m.hostPort, m.hostIp, () => resolve());
      });
      servers.push(srv);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}
