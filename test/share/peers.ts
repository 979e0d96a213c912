// Test support for the sharing suite: archives built in memory (tar, OCI layouts), an isolated
// podman, a docker-registry on a free loopback port, the /var/lib/containers guard, and a
// listing of a store's files (to prove a refused input changed nothing).
import { execa, type Options } from "execa";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, lstatSync, readdirSync, rmSync, writeFileSync, rmdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

// ---------- archives built in memory ----------

export interface TarMember {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  data?: string | Buffer;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
}

/** A tar (ustar/pax) of exactly these members, in this order. */
export async function tarBytes(members: readonly TarMember[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  })();
  for (const m of members) {
    const type = m.type ?? "file";
    const data = Buffer.from(m.data ?? "");
    const header = { name: m.name, type, mode: m.mode ?? (type === "directory" ? 0o755 : 0o644), uid: m.uid ?? 0, gid: m.gid ?? 0, mtime: new Date(1_000_000_000_000), linkname: m.linkname, devmajor: m.devmajor, devminor: m.devminor };
    await new Promise<void>((res, rej) => pack.entry(type === "file" ? header : { ...header, size: 0 }, type === "file" ? data : undefined as never, (e?: Error | null) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha = (b: Buffer | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/**
 * An OCI image layout tar for layers given as plain tars (gzip-compressed here), with config,
 * manifest and index.json named `ref`. `tamper` may change the bytes of any blob after hashing.
 */
export async function ociArchive(layers: readonly Buffer[], opts: { ref?: string; cmd?: string[]; tamper?: (name: string, b: Buffer) => Buffer; sizeSkew?: number; manifestSizeSkew?: number } = {}): Promise<Buffer> {
  const blobs: [string, Buffer][] = [];
  const layerDescs = layers.map((plain) => {
    const gz = gzipSync(plain);
    blobs.push([sha(gz), gz]);
    return { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(gz), size: gz.length + (opts.sizeSkew ?? 0) };
  });
  const config = Buffer.from(JSON.stringify({
    created: "2024-01-02T03:04:05Z", architecture: "amd64", os: "linux",
    config: { Cmd: opts.cmd ?? ["/bin/sh"], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => sha(l)) },
  }));
  blobs.push([sha(config), config]);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length }, layers: layerDescs }));
  blobs.push([sha(manifest), manifest]);
  const index = { schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.length + (opts.manifestSizeSkew ?? 0), annotations: { "org.opencontainers.image.ref.name": opts.ref ?? "localhost/hostile:1" } }] };
  const tamper = opts.tamper ?? ((_n: string, b: Buffer) => b);
  return tarBytes([
    { name: "oci-layout", data: '{"imageLayoutVersion":"1.0.0"}' },
    ...blobs.map(([d, b]) => ({ name: `blobs/sha256/${d.slice(7)}`, data: tamper(d, b) })),
    { name: "index.json", data: JSON.stringify(index) },
  ]);
}

// ---------- stores ----------

/** Every file under a store with its size, sorted (tmp/ included: it must be empty again). */
export function storeListing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      // Not followed: an image's symlink may dangle or point anywhere on the host.
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else out.push(`${r} ${st.size}`);
    }
  };
  if (existsSync(root)) walk("");
  return out;
}

/** All files under `dir` (to prove nothing was written somewhere). */
export function filesUnder(dir: string): string[] {
  return existsSync(dir) ? storeListing(dir) : [];
}

// ---------- peers ----------

/** containers/image writes /var/lib/containers/cache for root; remove it if we created it. */
export function guardVarLibContainers(): () => void {
  const existed = existsSync("/var/lib/containers");
  return () => {
    if (existed) return;
    rmSync("/var/lib/containers/cache/blob-info-cache-v1.boltdb", { force: true });
    for (const d of ["/var/lib/containers/cache", "/var/lib/containers"]) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty or gone */
      }
    }
  };
}

/** An isolated podman (vfs storage: no mounts left behind) under `dir`; env for execa. */
export function podmanEnv(dir: string): NodeJS.ProcessEnv {
  mkdirSync(join(dir, "net.d"), { recursive: true });
  mkdirSync(join(dir, "run"), { recursive: true });
  writeFileSync(join(dir, "containers.conf"), `[containers]
netns = "none"
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/run/events.log"
runtime = "runc"
tmp_dir = "${dir}/run/libpod"
volume_path = "${dir}/root/volumes"
static_dir = "${dir}/root/libpod"
[network]
network_backend = "cni"
network_config_dir = "${dir}/net.d"
cni_plugin_dirs = ["/usr/lib/cni"]
`);
  writeFileSync(join(dir, "storage.conf"), `[storage]
driver = "vfs"
graphroot = "${dir}/root"
runroot = "${dir}/run/storage"
`);
  return { ...process.env, CONTAINERS_CONF: join(dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") };
}

/** Runs a peer tool; throws with its stderr on failure. */
export async function peer(argv: string[], opts: Options = {}): Promise<string> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, encoding: "utf8", ...opts });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${String(r.stderr)}`);
  return String(r.stdout);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export interface Registry {
  host: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** 22 characters of bcrypt salt (the last one carries 2 bits: one of `.Oeu`). */
function salt(): string {
  return randomBytes(32).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 21) + "e";
}

/**
 * Starts docker-registry on 127.0.0.1:<free port> with filesystem storage under `dir`; with
 * `login`, it wants HTTP Basic with that user and password (an htpasswd file, bcrypt made by
 * the C library's crypt through perl).
 */
export async function startRegistry(dir: string, login?: { user: string; password: string }): Promise<Registry> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, "data");
  let auth = "";
  if (login) {
    const hash = execFileSync("perl", ["-e", "print crypt($ARGV[0], q($2b$05$) . $ARGV[1])", login.password, salt()], { encoding: "utf8" });
    if (!hash.startsWith("$2b$")) throw new Error(`crypt made no bcrypt hash: ${hash}`);
    writeFileSync(join(dir, "htpasswd"), `${login.user}:${hash}\n`);
    auth = `auth:\n  htpasswd:\n    realm: minic-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  writeFileSync(join(dir, "config.yml"), `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${dataDir}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (r.status === (login ? 401 : 200)) return { host: `127.0.0.1:${port}`, dataDir, stop };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error("docker-registry did not come up");
}
