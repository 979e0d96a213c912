// minic import sources: a directory, a newc cpio, or a tar (each plain, gzip or bzip2),
// recognised by content, not by name. Every member goes through the member policy.
import { createReadStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { MinicError } from "../core/errors.js";
import type { EntryKind } from "../archive/entry.js";
import { readCpio } from "../archive/cpio-reader.js";
import { walkTree, treeData } from "../archive/walk-tree.js";
import { tempName } from "../store/atomic.js";
import type { LayerItem } from "../store/layers.js";
import { putLayerUnpacked } from "../store/layers.js";
import type { LayerDescriptor } from "../core/image.js";
import type { Store } from "../store/store.js";
import { admitMember, type MemberPolicy } from "./member-policy.js";
import { plainStream } from "./compression.js";
import { readTarMembers } from "./tar-members.js";
import { emptyReport, TreeCollector, type CollectReport, type IncomingMember } from "./tree-collector.js";

export type SourceKind = "directory" | "cpio" | "tar";

/** Pure: what plain (uncompressed) bytes starting with `head` are. */
export function archiveKind(head: Buffer): "cpio" | "tar" | undefined {
  const magic = head.toString("latin1", 0, 6);
  if (magic === "070701" || magic === "070702") return "cpio";
  if (head.length >= 262 && head.toString("latin1", 257, 262) === "ustar") return "tar";
  return undefined;
}

/** Packs `path` (directory or archive) into one layer in the store. */
export async function importSource(store: Store, path: string, policy: MemberPolicy, epoch: number): Promise<{ layer: LayerDescriptor; kind: SourceKind; report: CollectReport }> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new MinicError("ENOTFOUND", `import source '${path}' does not exist`, { hint: "give a directory, a rootfs.cpio[.bz2|.gz] or a rootfs.tar[.gz|.bz2]" });
  if (st.isDirectory()) {
    const { items, report } = await directoryItems(path, policy);
    return { layer: await putLayerUnpacked(store, items, epoch), kind: "directory", report };
  }
  if (!st.isFile()) {
    throw new MinicError("EUSAGE", `import source '${path}' is neither a directory nor a regular file (${st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isFIFO() ? "a pipe" : "a socket"})`, {
      hint: "give a directory, a rootfs.cpio[.bz2|.gz] or a rootfs.tar[.gz|.bz2] (to read a stream, save it to a file first)",
    });
  }
  const spool = tempName(store.layout.tmpDir, "import");
  await mkdir(spool, { mode: 0o700 });
  try {
    const plain = await plainStream(createReadStream(path), `import source '${path}'`);
    const { stream } = await sniffArchive(plain);
    const kind = stream.kind;
    const collector = new TreeCollector(spool, policy);
    const members: AsyncIterable<IncomingMember> = kind === "cpio" ? cpioMembers(stream.bytes) : readTarMembers(stream.bytes);
    for await (const m of members) await collector.add(m);
    return { layer: await putLayerUnpacked(store, collector.finish(epoch, true), epoch), kind, report: collector.report };
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

async function sniffArchive(plain: AsyncIterable<Buffer>): Promise<{ stream: { kind: "cpio" | "tar"; bytes: AsyncIterable<Buffer> } }> {
  // Read the first 512 bytes (a tar header) to tell cpio from tar.
  const it = plain[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < 512) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    head.push(Buffer.from(r.value));
    len += r.value.length;
  }
  const first = Buffer.concat(head);
  const kind = archiveKind(first);
  const magic = first.toString("latin1", 0, 6);
  const binary = first.length >= 2 && (first.readUInt16LE(0) === 0o70707 || first.readUInt16BE(0) === 0o70707);
  if (!kind && (magic === "070707" || binary)) {
    throw new MinicError("EARCHIVE", `import source is an ${magic === "070707" ? "odc" : "old binary"} cpio archive; minic reads newc`, {
      hint: "repack it as newc: mkdir t && cpio -idm -D t < SOURCE && (cd t && find . | cpio -o -H newc) > rootfs.cpio",
    });
  }
  if (!kind) throw new MinicError("EINPUT", "import source is neither a newc cpio nor a tar archive", { hint: "give a directory, a rootfs.cpio[.bz2] or a rootfs.tar[.gz|.bz2]" });
  async function* bytes(): AsyncGenerator<Buffer> {
    yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { stream: { kind, bytes: bytes() } };
}

async function* cpioMembers(bytes: AsyncIterable<Buffer>): AsyncGenerator<IncomingMember> {
  for await (const m of readCpio(bytes, { afterTrailer: "archives" })) yield { rawName: m.entry.name, entry: m.entry, data: m.data, ino: m.ino, nlink: m.nlink };
}

/** What happens to a walked entry before the policy: left out, kept as an empty file, or kept. */
export type TreeTidy = (name: string) => "drop" | "empty" | "keep";

/**
 * A directory's entries after the policy (a walked tree has no escaping names or symlinked
 * parents). `tidy` (a distribution base's) leaves entries out, with everything under them, or
 * empties files, before the policy sees them.
 */
export async function directoryItems(root: string, policy: MemberPolicy, tidy: TreeTidy = () => "keep"): Promise<{ items: LayerItem[]; report: CollectReport }> {
  const tree = await walkTree(root);
  const kinds = new Map<string, EntryKind>();
  const report: CollectReport = emptyReport();
  const items: LayerItem[] = [];
  const dropped = (name: string) => {
    for (let i = name.indexOf("/"); i >= 0; i = name.indexOf("/", i + 1)) if (tidy(name.slice(0, i)) === "drop") return true;
    return tidy(name) === "drop";
  };
  for (const t of tree) {
    if (dropped(t.entry.name)) continue;
    const a = admitMember(kinds, { rawName: t.entry.name, entry: t.entry, ...(t.droppedXattrs ? { droppedXattrs: t.droppedXattrs } : {}) }, policy);
    for (const n of a.notes) if (n !== "root-entry") report[n]++;
    if (a.action === "skip") continue;
    kinds.set(a.entry.name, a.entry.kind);
    if (a.entry.kind === "file" && tidy(a.entry.name) === "empty") {
      const { linkKey: _, ...entry } = a.entry;
      items.push({ entry: { ...entry, size: 0 }, data: Buffer.alloc(0) });
      continue;
    }
    items.push(t.hostPath === undefined ? { entry: a.entry } : { entry: a.entry, data: treeData(t) });
  }
  report.entries = items.length;
  return { items, report };
}
