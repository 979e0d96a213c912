// What `minic info` and `minic doctor` say about the store in use: where it is and why, whether
// other users can enter it, the filesystem it is on, and an older store left in this directory.
import { statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { OVERLAYFS_MAGIC } from "./store-dir.js";
import type { StoreLocation } from "./store-location.js";

/** The store directory as found on disk (read without changing or creating anything). */
export interface StoreStatus {
  exists: boolean;
  /** The path exists and is not a directory. */
  notDir: boolean;
  mode?: number;
  owner?: number;
  fsType?: string;
  /** `./layers` of the working directory when it holds another store (the default before 0.2). */
  storeHere?: string;
}

const FS_NAMES: Record<number, string> = { 0xef53: "ext4", 0x58465342: "xfs", 0x9123683e: "btrfs", 0x01021994: "tmpfs", [OVERLAYFS_MAGIC]: "overlayfs", 0x6969: "nfs", 0x65735546: "fuse" };

/** Reads the store's status; `cwd` is checked for a store of an older minic (`./layers`). */
export function readStoreStatus(loc: StoreLocation, cwd: string): StoreStatus {
  let st;
  try {
    st = statSync(loc.root, { throwIfNoEntry: false });
  } catch (e) {
    // A part of the path is a file (--store /etc/passwd/x): no store can be there.
    if ((e as NodeJS.ErrnoException).code !== "ENOTDIR") throw e;
    return { exists: false, notDir: true };
  }
  const out: StoreStatus = { exists: Boolean(st), notDir: Boolean(st && !st.isDirectory()) };
  if (st?.isDirectory()) {
    out.mode = st.mode & 0o7777;
    out.owner = st.uid;
    const type = statfsSync(loc.root).type;
    out.fsType = FS_NAMES[type] ?? `0x${type.toString(16)}`;
  }
  const here = join(cwd, "layers");
  if (here !== loc.root && statSync(join(here, "blobs", "sha256"), { throwIfNoEntry: false })?.isDirectory()) out.storeHere = here;
  return out;
}

export interface StoreFinding {
  level: "ok" | "note" | "warn";
  text: string;
}

/** Pure: what to tell the user about the store. */
export function storeFindings(loc: StoreLocation, s: StoreStatus): StoreFinding[] {
  const out: StoreFinding[] = [{ level: "ok", text: `store: ${loc.root} (${loc.why})` }];
  if (s.notDir) out.push({ level: "warn", text: `store: ${loc.root} (or a part of its path) is not a directory: every command fails until it is removed or --store names another` });
  else if (!s.exists) out.push({ level: "note", text: "store: not made yet (the first build, import, load or pull makes it, mode 0700)" });
  else if (((s.mode ?? 0) & 0o077) !== 0) out.push({ level: "warn", text: `store: mode ${(s.mode ?? 0).toString(8).padStart(4, "0")}, open to other users (its unpacked layers may hold setuid binaries): minic makes it 0700 when it next opens it` });
  else out.push({ level: "ok", text: `store: mode ${(s.mode ?? 0).toString(8).padStart(4, "0")}, only its owner (uid ${s.owner}) can enter it; on ${s.fsType}` });
  if (s.fsType === "overlayfs") out.push({ level: "warn", text: "store: on overlayfs, which cannot hold containers' upper dirs: give --store a directory on ext4, xfs, btrfs or tmpfs" });
  if (s.storeHere) out.push({ level: "note", text: `${s.storeHere} holds another minic store (where older versions kept it): use it with --store ${s.storeHere}` });
  return out;
}
