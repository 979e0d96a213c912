// Networking: none, veth (host <-> container), bridge (container <-> container), -p publish.
// Traffic only goes to addresses these tests create (10.231.x on veths made here, and 127.0.0.1).
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { get } from "node:http";
import { minic, LAUNCHER } from "../helpers/cli.js";
import { runtimeSuite, stackedImage } from "./fixtures.js";

const { fx, run } = runtimeSuite(async (fx) => {
  await stackedImage(fx.store, fx.tree, "web", [{ "srv": { dir: true }, "srv/index.html": "hello from the container\n" }], {
    cmd: ["/bin/httpd", "-f", "-p", "8080", "-h", "/srv"],
  });
});

/** Starts `minic run` in the background; returns the process and a stop function. */
function background(args: string[]) {
  const p = execa(LAUNCHER, ["run", "--store", fx.store, ...args], { reject: false, stdin: "ignore", encoding: "utf8" });
  return { p, stop: async () => { p.kill("SIGTERM"); return p; } };
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The state records of running containers in the test store. */
async function running(): Promise<{ name: string; address?: string }[]> {
  const r = await minic(["ps", "--json", "--store", fx.store]);
  return JSON.parse(r.stdout || "[]");
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

describe("--net", () => {
  it("host (default) shares the host's interfaces; none has loopback only", async () => {
    const host = await run(["bb", "--", "/bin/sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"]);
    expect(host.stdout).toContain("eth0");
    const none = await run(["--net", "none", "bb", "--", "/bin/sh", "-c", "ls /sys/class/net | tr '\\n' ' '; ip -o link show lo | grep -c UP"]);
    expect(none.stdout.trim()).toBe("lo 1");
    const chroot = await run(["--runtime", "chroot", "--net", "none", "bb", "--", "/bin/sh", "-c", "ls /sys/class/net 2>/dev/null | wc -l"]);
    expect(chroot.exitCode).toBe(0);
  });

  it("veth: host and container ping each other; busybox httpd answers wget from the host", async () => {
    const r = await run(["--net", "veth", "bb", "--", "/bin/sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; ping -c1 -W2 $(ip route | awk '/default/{print $3}') >/dev/null && echo ping-host-ok"]);
    expect(r.stderr).toBe("");
    const [cidr, ping] = r.stdout.trim().split("\n");
    expect(cidr).toMatch(/^10\.231\.\d+\.2\/24$/);
    expect(ping).toBe("ping-host-ok");

    const web = background(["--net", "veth", "--name", "web1", "--stop-timeout", "1", "web"]);
    try {
      const addr = await until(async () => (await running()).find((c) => c.name === "web1")?.address);
      await execa("busybox", ["ping", "-c1", "-W2", addr]);
      const body = await until(async () => execa("wget", ["-q", "-O", "-", `http://${addr}:8080/`], { reject: false }).then((x) => (x.exitCode === 0 ? x.stdout : undefined)));
      expect(body.trim()).toBe("hello from the container");
    } finally {
      const done = await web.stop();
      expect(done.exitCode).not.toBe(undefined);
    }
  });

  it("bridge: two containers reach each other; -p publishes a port on the host", async () => {
    const web = background(["--net", "bridge", "--name", "web2", "--stop-timeout", "1", "-p", "127.0.0.1:18080:8080", "web"]);
    try {
      const addr = await until(async () => (await running()).find((c) => c.name === "web2")?.address);
      expect(addr).toMatch(/^10\.231\.0\.\d+$/);
      const r = await run(["--net", "bridge", "bb", "--", "/bin/sh", "-c", `ping -c1 -W2 ${addr} >/dev/null && echo ping-ok; wget -q -O - http://${addr}:8080/`]);
      expect(r.stdout.trim()).toBe("ping-ok\nhello from the container");
      const viaProxy = await until(() => httpGet("http://127.0.0.1:18080/").catch(() => undefined));
      expect(viaProxy.trim()).toBe("hello from the container");
    } finally {
      await web.stop();
    }
  });

  it("-p without --net puts the container on the bridge (podman's default network is a private one); with --net host or none it is refused", async () => {
    const r = await run(["-p", "127.0.0.1:18081:8080", "bb", "/bin/sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"]);
    expect([r.exitCode, r.stdout.trim()]).toEqual([0, expect.stringMatching(/^10\.231\.0\.\d+\/\d+$/)]);
    for (const net of ["host", "none"]) {
      const refused = await run(["--net", net, "-p", "8080:80", "bb", "/bin/true"]);
      expect([refused.exitCode, refused.stderr]).toEqual([2, expect.stringMatching(new RegExp(`^minic: -p needs a container network \\(--net veth or --net bridge\\), not --net ${net} `))]);
    }
  });

  // 192.0.2.0/24 is TEST-NET-1: never an address of this host, and nothing is sent to it.
  it("-p on an address this host does not have: one line that says so, nothing left behind", async () => {
    const r = await run(["--net", "veth", "-p", "192.0.2.77:18080:80", "bb", "/bin/true"]);
    expect([r.exitCode, r.stderr.trim()]).toEqual([1, "minic: cannot publish 192.0.2.77:18080: 192.0.2.77 is not an address of this host (hint: give -p one of this host's addresses (see 'ip addr'), 127.0.0.1, or none for all (-p HOSTPORT:PORT))"]);
  });
});
