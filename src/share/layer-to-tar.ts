// Converts a minic layer (cpio members) into an OCI tar+gzip layer file: same entries, `.wh.`
// whiteouts unchanged, cpio hard-link groups as tar hard links to the member carrying the data.
import { atPath } from "../core/faults.js";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-stream";
import type { Digest } from "../core/digest.js";
import type { Entry, EntryKind } from "../archive/entry.js";
import type { CpioMember } from "../archive/cpio-reader.js";

/** A converted layer on disk, with the digests an OCI manifest and config need. */
export interface TarLayerFile {
  path: string;
  /** sha256 of the gzip file (the blob). */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar (the OCI diff_id). */
  diffId: Digest;
}

type TarHeader = Parameters<tar.Pack["entry"]>[0];

const TYPES: Record<EntryKind, tar.Header["type"]> = {
  file: "file",
  dir: "directory",
  symlink: "symlink",
  chardev: "character-device",
  blockdev: "block-device",
  fifo: "fifo",
  socket: "file",
};

/** Pure: the tar header for an entry (a hard link when `linkTo` is given). */
export function tarHeader(e: Entry, linkTo?: string): TarHeader {
  const h: TarHeader = {
    name: e.name,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    mtime: new Date(e.mtime * 1000),
    uname: "",
    gname: "",
    type: linkTo !== undefined ? "link" : TYPES[e.kind],
    size: linkTo === undefined && e.kind === "file" ? e.size : 0,
  };
  if (linkTo !== undefined) h.linkname = linkTo;
  if (e.kind === "symlink") h.linkname = e.linkname ?? "";
  if (e.kind === "chardev" || e.kind === "blockdev") {
    h.devmajor = e.rdevMajor ?? 0;
    h.devminor = e.rdevMinor ?? 0;
  }
  return h;
}

/**
 * Writes the members as tar+gzip to `dest` (which must not exist). Deterministic: the same
 * members give the same bytes. Sockets are skipped (tar cannot hold them; neither can cpio unpack).
 */
export async function writeTarLayer(members: AsyncIterable<CpioMember>, dest: string): Promise<TarLayerFile> {
  const pack = tar.pack();
  const diff = createHash("sha256");
  const blob = createHash("sha256");
  let size = 0;
  const written = pipeline(Readable.from(pack as AsyncIterable<Buffer>), tap((c) => diff.update(c)), createGzip({ level: 6 }), tap((c) => { blob.update(c); size += c.length; }), createWriteStream(dest, { flags: "wx", mode: 0o600 }));
  const produced = (async () => {
    try {
      await produce(pack, members);
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
      throw e;
    }
  })();
  await Promise.all([written.catch((e: unknown) => {
    throw atPath(e, dest);
  }), produced]);
  return { path: dest, digest: `sha256:${blob.digest("hex")}`, size, diffId: `sha256:${diff.digest("hex")}` };
}

async function produce(pack: tar.Pack, members: AsyncIterable<CpioMember>): Promise<void> {
  /** ino → name of the member written with data, or the names still waiting for it. */
  const groups = new Map<number, { carrier?: string; waiting: Entry[] }>();
  for await (const m of members) {
    const e = m.entry;
    if (e.kind === "socket") {
      for await (const _ of m.data);
      continue;
    }
    if (e.kind !== "file" || m.nlink <= 1) {
      await add(pack, tarHeader(e), e.kind === "file" ? m.data : undefined);
      continue;
    }
    const g = groups.get(m.ino) ?? { waiting: [] };
    groups.set(m.ino, g);
    if (g.carrier !== undefined) {
      for await (const _ of m.data);
      await add(pack, tarHeader(e, g.carrier));
    } else if (e.size > 0) {
      await add(pack, tarHeader(e), m.data);
      g.carrier = e.name;
      for (const w of g.waiting.splice(0)) await add(pack, tarHeader(w, e.name));
    } else {
      for await (const _ of m.data);
      g.waiting.push(e);
    }
  }
  for (const g of groups.values()) {
    if (g.carrier !== undefined || g.waiting.length === 0) continue;
    const [first, ...rest] = g.waiting;
    await add(pack, tarHeader(first!));
    for (const w of rest) await add(pack, tarHeader(w, first!.name));
  }
}

/** Adds one entry and waits until tar-stream has taken all of it. */
function add(pack: tar.Pack, header: TarHeader, data?: AsyncIterable<Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (!header.size) {
      sink.end(undefined);
      return;
    }
    (async () => {
      for await (const chunk of data!) {
        if (!sink.write(chunk)) await new Promise<void>((r) => sink.once("drain", () => r()));
      }
      sink.end(undefined);
    })().catch((e) => {
      sink.destroy(e as Error);
      reject(e);
    });
  });
}

function tap(f: (c: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      f(chunk);
      cb(null, chunk);
    },
  });
}
