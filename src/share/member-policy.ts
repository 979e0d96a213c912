// Pure: decides, member by member, what an untrusted archive may add to a tree. No disk access:
// every check looks only at the member and at the kinds of the members admitted before it.
import { climbsOrNul, LINK_TARGET_MAX, memberNameProblem, safeMemberName, shownName } from "../core/container-path.js";
import { MinicError } from "../core/errors.js";
import { TRAILER_NAME, XATTR_TABLE_NAME } from "../archive/cpio-newc.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type Entry, type EntryKind } from "../archive/entry.js";

/** How untrusted content is neutralised. Resolved once per command (no undefined fields). */
export interface MemberPolicy {
  /** Device nodes: kept, silently dropped (counted), or refused. */
  devices: "keep" | "drop" | "refuse";
  /** setuid/setgid bits on files: kept or cleared (counted). */
  setuid: "keep" | "clear";
  /** File owners: as in the archive, or all root (0:0). */
  owners: "keep" | "root";
  /** aufs's metadata at the root (AUFS_META_PREFIX): skipped (an OCI/docker layer, a rootfs), or refused (a minic layer has none). */
  aufsMeta: "skip" | "refuse";
}

/** For `minic import`: a rootfs from anywhere. Devices dropped, setuid cleared, owners kept. */
export const IMPORT_POLICY: MemberPolicy = { devices: "drop", setuid: "clear", owners: "keep", aufsMeta: "skip" };
/** For image layers (load, pull): faithful, except that device nodes are dropped. */
export const LAYER_POLICY: MemberPolicy = { devices: "drop", setuid: "keep", owners: "keep", aufsMeta: "skip" };

/** A member as an archive reader describes it, before any check. */
export interface MemberHeader {
  /** The name as stored in the archive. */
  rawName: string;
  entry: Entry;
  /** tar: this member is a hard link to an earlier member of that (raw) name. */
  hardlinkTo?: string;
  /** Names of the member's extended attributes that minic does not carry (core/xattrs.ts); the carried ones are `entry.xattrs`. */
  droppedXattrs?: string[];
}

/** What happens to a member. `entry.name` is the safe, relative name. */
export type Admission =
  | { action: "add"; entry: Entry; notes: Note[] }
  | { action: "link"; entry: Entry; target: string; notes: Note[] }
  | { action: "skip"; notes: Note[] };

export type Note = "dropped-device" | "cleared-setuid" | "skipped-socket" | "skipped-aufs-meta" | "skipped-root-opaque" | "dropped-xattrs" | "root-entry";

/** The id chown(2) reads as "unchanged". */
const NO_ID = 2 ** 32 - 1;

/** aufs's own entries at a layer's root (`.wh..wh.aufs`, `.wh..wh.plnk/`, `.wh..wh.orph/`): not files of the image. */
const AUFS_META_PREFIX = WHITEOUT_PREFIX + WHITEOUT_PREFIX;

/**
 * Checks one member against the tree so far (`kinds`: safe name → kind of what was admitted;
 * `dropped`: names of the device nodes the policy dropped, whose hard links go with them).
 * Throws EARCHIVE when the member is hostile or corrupt:
 * - a name with `..` components (absolute names are made relative, like GNU tar does);
 * - a name no filesystem can hold (see memberNameProblem), a symlink target that is empty or over PATH_MAX;
 * - a name whose parent is a symlink (or any non-directory) admitted earlier;
 * - a hard link to a name that is not an earlier file or symlink of the same archive;
 * - a bare `.wh.` whiteout, a whiteout of `.`/`..`, an unknown `.wh..wh.` marker below the root
 *   (at the root, aufs's metadata is skipped, as Docker skips it, and so is an opaque marker);
 * - a file named `TRAILER!!!` at the root (the cpio end marker);
 * - a device node when the policy refuses them.
 */
export function admitMember(kinds: ReadonlyMap<string, EntryKind>, m: MemberHeader, policy: MemberPolicy, dropped: ReadonlySet<string> = new Set()): Admission {
  const name = safeMemberName(m.rawName);
  if (name === null) refuse(m.rawName, climbsOrNul(m.rawName));
  if (name === ".") return { action: "skip", notes: ["root-entry"] };
  const top = name.split("/", 1)[0]!;
  if (top.startsWith(AUFS_META_PREFIX) && top !== OPAQUE_MARKER && policy.aufsMeta === "skip") return { action: "skip", notes: ["skipped-aufs-meta"] };
  // An opaque marker at the root hides nothing (overlayfs and every driver merge the roots): kept,
  // it would only come out of export and save as a stray file.
  if (name === OPAQUE_MARKER) return { action: "skip", notes: ["skipped-root-opaque"] };
  if (name === TRAILER_NAME) refuse(m.rawName, `'${TRAILER_NAME}' is the cpio end marker and cannot be a file at the root`);
  if (name === XATTR_TABLE_NAME) refuse(m.rawName, `'${XATTR_TABLE_NAME}' at the root is the name that carries a minic layer's extended attributes`);
  const tooLong = memberNameProblem(name);
  if (tooLong) refuse(m.rawName, tooLong);
  if (m.entry.kind === "symlink" && Buffer.byteLength(m.entry.linkname ?? "") > LINK_TARGET_MAX) {
    refuse(m.rawName, `its symlink target is longer than ${LINK_TARGET_MAX} bytes`);
  }
  if (m.entry.kind === "symlink" && !m.entry.linkname) refuse(m.rawName, "its symlink target is empty (no filesystem makes such a link)");
  checkParents(kinds, name, m.rawName);
  const notes: Note[] = [];
  let entry: Entry = { ...m.entry, name };
  const base = name.slice(name.lastIndexOf("/") + 1);
  if (base.startsWith(WHITEOUT_PREFIX)) return { action: "add", entry: whiteout(entry, base, m.rawName), notes };
  if (entry.kind === "socket") return { action: "skip", notes: ["skipped-socket"] };
  if (entry.kind === "chardev" || entry.kind === "blockdev") {
    if (policy.devices === "refuse") refuse(m.rawName, "device nodes are not accepted here");
    if (policy.devices === "drop") return { action: "skip", notes: ["dropped-device"] };
  }
  if (policy.owners === "root") entry = { ...entry, uid: 0, gid: 0 };
  // (uid_t)-1 is "leave the owner as it is" to chown(2): no file is owned by it, and every
  // extractor running as root (podman's, GNU tar's, minic's unpack) leaves such a file root's,
  // while export and save kept the number. Taken as root, as they make it.
  if (entry.uid === NO_ID || entry.gid === NO_ID) entry = { ...entry, uid: entry.uid === NO_ID ? 0 : entry.uid, gid: entry.gid === NO_ID ? 0 : entry.gid };
  if (m.droppedXattrs?.length) notes.push("dropped-xattrs");
  if (policy.setuid === "clear" && entry.kind === "file" && (entry.mode & 0o6000) !== 0) {
    entry = { ...entry, mode: entry.mode & ~0o6000 };
    notes.push("cleared-setuid");
  }
  if (m.hardlinkTo !== undefined) {
    const target = safeMemberName(m.hardlinkTo);
    if (target !== null && dropped.has(target) && !kinds.has(target)) return { action: "skip", notes: ["dropped-device"] };
    const kind = target === null ? undefined : kinds.get(target);
    if (target === null || (kind !== "file" && kind !== "symlink")) {
      refuse(m.rawName, `it is a hard link to '${m.hardlinkTo}', which is ${kind === undefined ? "not an earlier file of this archive" : `a ${kind === "dir" ? "directory" : kind} of it (hard links are to files only)`}`);
    }
    return { action: "link", entry, target, notes };
  }
  return { action: "add", entry, notes };
}

/** Refuses a name below anything but a directory admitted earlier (the classic symlink escape). */
function checkParents(kinds: ReadonlyMap<string, EntryKind>, name: string, raw: string): void {
  for (let i = name.indexOf("/"); i >= 0; i = name.indexOf("/", i + 1)) {
    const parent = name.slice(0, i);
    const kind = kinds.get(parent);
    if (kind === "symlink") refuse(raw, `its parent '${parent}' is a symlink of the same archive`);
    if (kind !== undefined && kind !== "dir") refuse(raw, `its parent '${parent}' is not a directory`);
  }
}

/** A whiteout normalised to an empty root-owned file (mtime kept); refuses malformed ones. */
function whiteout(e: Entry, base: string, raw: string): Entry {
  if (base === WHITEOUT_PREFIX) refuse(raw, "a bare '.wh.' whiteout names nothing to delete");
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) && base !== OPAQUE_MARKER) refuse(raw, "unknown whiteout marker");
  const victim = base.slice(WHITEOUT_PREFIX.length);
  if (victim === "." || victim === "..") refuse(raw, "a whiteout may not name '.' or '..'");
  if (e.kind !== "file") refuse(raw, "a whiteout must be an empty regular file");
  return { name: e.name, kind: "file", mode: 0, uid: 0, gid: 0, mtime: e.mtime, size: 0 };
}

function refuse(raw: string, why: string): never {
  throw new MinicError("EARCHIVE", `refusing archive member '${shownName(raw)}': ${why}`, { hint: "the archive is hostile or corrupt; nothing was stored" });
}
