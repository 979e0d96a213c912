// Image tarballs built in memory, byte for byte, for hostile and fuzzed input: a ustar writer and
// reader that take any header (sizes, types, names no tool would write), and OCI layouts and
// docker-archives whose documents may be anything (ill-typed JSON) while every digest and
// diff_id still matches, so that an input gets past the digest checks to the code that reads it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { parseRawCpio, rawArchive, type RawMember as CpioMember } from "./raw-cpio.js";

export const sha = (b: Buffer | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** One tar member as written: `size` defaults to the data's length (a directory may lie). */
export interface RawMember {
  name: string;
  /** ustar type flag: "0" file, "1" hard link, "2" symlink, "3"/"4" devices, "5" directory, "6" fifo. */
  type?: string;
  data?: Buffer;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: number;
}

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, "0").slice(-(len - 1)) + "\0", off, len, "latin1");
}

function header(m: RawMember, name: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  octal(h, 100, 8, m.mode ?? (type === "5" ? 0o755 : 0o644));
  octal(h, 108, 8, m.uid ?? 0);
  octal(h, 116, 8, m.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, m.mtime ?? 1_000_000_000);
  h.write(type, 156, 1, "latin1");
  h.write(m.linkname ?? "", 157, 100, "utf8");
  h.write("ustar\u000000", 257, 8, "latin1");
  h.fill(" ", 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

function pax(records: Record<string, string>): Buffer {
  let body = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
    body += `${len}${rest}`;
  }
  return Buffer.from(body, "utf8");
}

/** A tar of exactly these members (pax headers for long names and link targets), with its end blocks. */
export function rawTar(members: readonly RawMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const type = m.type ?? "0";
    const data = m.data ?? Buffer.alloc(0);
    const size = m.size ?? data.length;
    const long: Record<string, string> = {};
    if (Buffer.byteLength(m.name) > 99) long.path = m.name;
    if (Buffer.byteLength(m.linkname ?? "") > 99) long.linkpath = m.linkname!;
    if (Object.keys(long).length > 0) {
      const p = pax(long);
      parts.push(header({ name: "PaxHeader" }, "PaxHeader", p.length, "x"), p, pad(p.length));
    }
    parts.push(header(m, m.name.slice(0, 99), size, type), data, pad(data.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The files of a tar (regular members only, by name), for taking a saved tarball apart. */
export function tarFiles(tar: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = longName ?? h.toString("utf8", 0, 100).replace(/\0.*$/s, "");
    const size = parseInt(h.toString("latin1", 124, 136).replace(/\0.*$/s, "").trim() || "0", 8);
    const type = h.toString("latin1", 156, 157);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + size + ((512 - (size % 512)) % 512);
    longName = undefined;
    if (type === "x") {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
      if (m) longName = m[1];
      continue;
    }
    if (type === "0" || type === "\0" || type === "") out.set(name, Buffer.from(data));
  }
  return out;
}

/** A tar of whole files (type 0), in the order given. */
export function filesTar(files: Iterable<[string, Buffer]>): Buffer {
  return rawTar([...files].map(([name, data]) => ({ name, data })));
}

export interface LayoutInput {
  /** Each layer as a plain tar; stored gzip-compressed unless `plainLayers`. */
  layers: readonly Buffer[];
  plainLayers?: boolean;
  /** The image config (any JSON: it is hashed as written); a valid one by default. */
  config?: unknown;
  /** Replaces the manifest built from the descriptors (any JSON). */
  manifest?: (d: { config: Descriptor; layers: Descriptor[] }) => unknown;
  /** Replaces the index.json built from the manifest's descriptor (any JSON). */
  index?: (manifest: Descriptor) => unknown;
  /** Replaces the docker-archive manifest.json (any JSON) built from the blob paths. */
  dockerManifest?: (d: { config: string; layers: string[] }) => unknown;
  /** "oci": index.json + blobs; "docker": manifest.json + blobs; "both" (what minic save --format oci writes). */
  format?: "oci" | "docker" | "both";
  ref?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** A valid OCI config for plain `layers` (diff_ids computed). */
export function ociConfig(layers: readonly Buffer[], over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    created: "2024-01-02T03:04:05Z", architecture: "amd64", os: "linux",
    config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => sha(l)) },
    ...over,
  };
}

/**
 * An OCI layout and/or docker-archive tar whose every digest matches what it names, whatever
 * the documents hold.
 */
export function imageLayout(input: LayoutInput): Buffer {
  const files: [string, Buffer][] = [["oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}')]];
  const blob = (b: Buffer): string => {
    files.push([`blobs/sha256/${sha(b).slice(7)}`, b]);
    return sha(b);
  };
  const layers = input.layers.map((plain) => {
    const b = input.plainLayers ? plain : gzipSync(plain);
    return { mediaType: input.plainLayers ? "application/vnd.oci.image.layer.v1.tar" : "application/vnd.oci.image.layer.v1.tar+gzip", digest: blob(b), size: b.length };
  });
  const cfg = Buffer.from(JSON.stringify(input.config === undefined ? ociConfig(input.layers) : input.config));
  const config = { mediaType: "application/vnd.oci.image.config.v1+json", digest: blob(cfg), size: cfg.length };
  const format = input.format ?? "oci";
  if (format !== "docker") {
    const m = Buffer.from(JSON.stringify(input.manifest ? input.manifest({ config, layers }) : { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers }));
    const md: Descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: blob(m), size: m.length, annotations: { "org.opencontainers.image.ref.name": input.ref ?? "localhost/fuzz:1" } };
    files.push(["index.json", Buffer.from(JSON.stringify(input.index ? input.index(md) : { schemaVersion: 2, manifests: [md] }))]);
  }
  if (format !== "oci") {
    const paths = { config: `blobs/sha256/${config.digest.slice(7)}`, layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) };
    const doc = input.dockerManifest ? input.dockerManifest(paths) : [{ Config: paths.config, RepoTags: [input.ref ?? "localhost/fuzz:1"], Layers: paths.layers }];
    files.push(["manifest.json", Buffer.from(JSON.stringify(doc))]);
  }
  return filesTar(files);
}

/** The plain tar of a gzip (or plain) layer blob. */
export function plainLayer(b: Buffer): Buffer {
  return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
}

/**
 * A minic tarball (as `minic save` writes it: index.json naming minic manifests) re-made with
 * its manifest and config changed by `edit` (any JSON), every digest and size fixed up.
 */
export function resealMinic(tar: Buffer, edit: { manifest?: (m: Record<string, unknown>) => unknown; config?: (c: unknown) => unknown }): Buffer {
  const files = tarFiles(tar);
  const index = JSON.parse(files.get("index.json")!.toString()) as { manifests: Descriptor[] };
  const blobOf = (d: string) => files.get(`blobs/sha256/${d.slice(7)}`)!;
  const put = (b: Buffer) => {
    files.set(`blobs/sha256/${sha(b).slice(7)}`, b);
    return { digest: sha(b), size: b.length };
  };
  for (const entry of index.manifests) {
    const manifest = JSON.parse(blobOf(entry.digest).toString()) as Record<string, unknown> & { config: Descriptor };
    if (edit.config) {
      const c = put(Buffer.from(JSON.stringify(edit.config(JSON.parse(blobOf(manifest.config.digest).toString())))));
      manifest.config = { ...manifest.config, ...c };
    }
    const m = put(Buffer.from(JSON.stringify(edit.manifest ? edit.manifest(manifest) : manifest)));
    Object.assign(entry, m);
  }
  files.set("index.json", Buffer.from(JSON.stringify(index)));
  return filesTar(files);
}

/** The members of a newc archive as raw-cpio.ts writes them (the trailer left out). */
export const cpioMembers = (cpio: Buffer): CpioMember[] => parseRawCpio(cpio).members.filter((m) => m.name !== "TRAILER!!!").map((m) => ({ name: m.name, mode: m.mode, data: m.data, ino: m.ino, nlink: m.nlink, uid: m.uid, gid: m.gid, mtime: m.mtime }));

/** The minic tarball with its first layer's cpio members changed, and its digests and diff id fixed. */
export function remakeMinicLayer(tar: Buffer, edit: (ms: CpioMember[]) => CpioMember[]): Buffer {
  const files = tarFiles(tar);
  const index = JSON.parse(files.get("index.json")!.toString());
  const manifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString());
  const old = manifest.layers[0];
  const members = rawArchive(edit(cpioMembers(execFileSync("bzip2", ["-dc"], { input: files.get(`blobs/sha256/${old.digest.slice(7)}`)!, maxBuffer: 1 << 28 }))));
  // Padded to 512 with zeros after the trailer, as minic's writer pads (load refuses other tails).
  const cpio = Buffer.concat([members, Buffer.alloc((512 - (members.length % 512)) % 512)]);
  const blob = execFileSync("bzip2", ["-9c"], { input: cpio, maxBuffer: 1 << 28 });
  files.set(`blobs/sha256/${sha(blob).slice(7)}`, blob);
  const layer = { ...old, digest: sha(blob), size: blob.length, diffId: sha(cpio) };
  return resealMinic(filesTar(files), {
    manifest: (m) => ({ ...m, layers: [layer, ...(m.layers as unknown[]).slice(1)] }),
    config: (c) => {
      const cfg = c as { rootfs: { diffIds: string[] } };
      return { ...cfg, rootfs: { ...cfg.rootfs, diffIds: [layer.diffId, ...cfg.rootfs.diffIds.slice(1)] } };
    },
  });
}
