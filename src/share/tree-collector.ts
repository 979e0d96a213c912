// Gathers the members of an untrusted archive into layer items, without creating the tree on
// disk: names go through member-policy, file data is kept in memory or spooled to numbered files.
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import { atPath } from "../core/faults.js";
import { writeAllSync } from "../util/write-all.js";
import type { DataSource } from "../archive/cpio-writer.js";
import type { Entry, EntryKind } from "../archive/entry.js";
import type { LayerItem } from "../store/layers.js";
import { safeMemberName } from "../core/container-path.js";
import { admitMember, type MemberHeader, type MemberPolicy, type Note } from "./member-policy.js";

/** A member to collect: its header, its data, and (cpio) its inode for hard links. */
export interface IncomingMember extends MemberHeader {
  data: AsyncIterable<Buffer>;
  ino?: number;
  nlink?: number;
}

/** What the policy changed, for the command's report. */
export type CollectReport = Record<Exclude<Note, "root-entry">, number> & { entries: number };

/** A report of nothing changed. */
export function emptyReport(): CollectReport {
  return { entries: 0, "dropped-device": 0, "cleared-setuid": 0, "skipped-socket": 0, "skipped-aufs-meta": 0, "skipped-root-opaque": 0, "dropped-xattrs": 0 };
}

interface Item {
  entry: Entry;
  data?: DataSource;
  /** cpio hard-link group whose data this item takes at the end. */
  group?: string;
}

const IN_MEMORY_FILE = 256 * 1024;
const IN_MEMORY_TOTAL = 128 * 1024 * 1024;

export class TreeCollector {
  private readonly items = new Map<string, Item>();
  private readonly kinds = new Map<string, EntryKind>();
  private readonly groups = new Map<string, { data?: DataSource; size: number }>();
  private spooled = 0;
  private inMemory = 0;
  readonly report: CollectReport = emptyReport();
  /** Device nodes the policy dropped: a hard link to one goes too. */
  private readonly droppedDevices = new Set<string>();

  /** `spoolDir` must exist and be private to this collector; the caller removes it. */
  constructor(private readonly spoolDir: string, private readonly policy: MemberPolicy) {}

  /** Admits one member (throws EARCHIVE for a hostile one) and consumes its data. */
  async add(m: IncomingMember): Promise<void> {
    let a;
    try {
      a = admitMember(this.kinds, m, this.policy, this.droppedDevices);
    } catch (e) {
      await drain(m.data);
      throw e;
    }
    for (const n of a.notes) if (n !== "root-entry") this.report[n]++;
    if (a.action === "skip") {
      if (a.notes.includes("dropped-device") && (m.entry.kind === "chardev" || m.entry.kind === "blockdev")) this.droppedDevices.add(safeMemberName(m.rawName)!);
      await drain(m.data);
      return;
    }
    const e = a.entry;
    this.replace(e.name, e.kind);
    if (a.action === "link") {
      await drain(m.data);
      const target = this.items.get(a.target)!;
      if (target.entry.kind === "symlink") {
        this.put({ entry: { ...e, kind: "symlink", size: 0, linkname: target.entry.linkname } });
      } else {
        target.entry.linkKey ??= `t:${a.target}`;
        const data = target.data ?? undefined;
        // One inode, one set of xattrs: a link member without its own takes its target's.
        const xattrs = e.xattrs ?? target.entry.xattrs;
        this.put({ entry: { ...e, kind: "file", size: target.entry.size, linkKey: target.entry.linkKey, ...(xattrs ? { xattrs } : {}) }, data, group: target.group });
      }
      return;
    }
    if (e.kind !== "file") {
      await drain(m.data);
      this.put({ entry: e });
      return;
    }
    const data = e.size > 0 ? await this.keep(m.data, e.size) : (await drain(m.data), undefined);
    if ((m.nlink ?? 1) > 1 && m.ino !== undefined) {
      const key = `c:${m.ino}`;
      const g = this.groups.get(key) ?? { size: 0 };
      if (data !== undefined) Object.assign(g, { data, size: e.size });
      this.groups.set(key, g);
      this.put({ entry: { ...e, linkKey: key }, group: key });
      return;
    }
    this.put({ entry: e, data: data ?? Buffer.alloc(0) });
  }

  /**
   * The collected items. With `addParents` (a base tree: import), directories are synthesised for
   * parents the archive left out, so the result is a complete tree (an initramfs needs one). A
   * layer must not get them: a made-up `etc` would override the lower layer's `etc` metadata.
   */
  finish(epoch: number, addParents: boolean): LayerItem[] {
    const out: LayerItem[] = [];
    for (const it of this.items.values()) {
      if (it.group !== undefined) {
        const g = this.groups.get(it.group)!;
        out.push({ entry: { ...it.entry, size: g.size }, data: g.data ?? Buffer.alloc(0) });
      } else out.push(it.data === undefined ? { entry: it.entry } : { entry: it.entry, data: it.data });
    }
    if (!addParents) return out;
    for (const name of [...this.items.keys()]) {
      for (let i = name.indexOf("/"); i >= 0; i = name.indexOf("/", i + 1)) {
        const parent = name.slice(0, i);
        if (!this.kinds.has(parent)) {
          this.kinds.set(parent, "dir");
          out.push({ entry: { name: parent, kind: "dir", mode: 0o755, uid: 0, gid: 0, mtime: epoch, size: 0 } });
        }
      }
    }
    return out;
  }

  private put(it: Item): void {
    this.items.set(it.entry.name, it);
    this.kinds.set(it.entry.name, it.entry.kind);
    this.report.entries = this.items.size;
  }

  /** A later member of the same name replaces the earlier one; a replaced directory loses its contents. */
  private replace(name: string, kind: EntryKind): void {
    const old = this.kinds.get(name);
    if (old === undefined || (old === "dir" && kind === "dir")) return;
    if (old === "dir") {
      const prefix = name + "/";
      for (const k of [...this.items.keys()]) if (k.startsWith(prefix)) this.items.delete(k);
      for (const k of [...this.kinds.keys()]) if (k.startsWith(prefix)) this.kinds.delete(k);
    }
  }

  /** Keeps a file's bytes: small ones in memory (within a budget), others in a spool file. */
  private async keep(data: AsyncIterable<Buffer>, size: number): Promise<DataSource> {
    let got = 0;
    if (size <= IN_MEMORY_FILE && this.inMemory + size <= IN_MEMORY_TOTAL) {
      const parts: Buffer[] = [];
      for await (const c of data) {
        parts.push(Buffer.from(c));
        got += c.length;
      }
      if (got !== size) short(size, got);
      this.inMemory += got;
      return Buffer.concat(parts);
    }
    const path = join(this.spoolDir, String(this.spooled++));
    const fd = openSync(path, "wx", 0o600);
    try {
      for await (const c of data) {
        try {
          writeAllSync(fd, c);
        } catch (e) {
          throw atPath(e, path);
        }
        got += c.length;
      }
    } finally {
      closeSync(fd);
    }
    if (got !== size) short(size, got);
    return path;
  }
}

function short(size: number, got: number): never {
  throw new MinicError("EARCHIVE", `archive member data ends after ${got} of ${size} bytes`, { hint: "the archive is truncated or corrupt" });
}

async function drain(data: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of data);
}
