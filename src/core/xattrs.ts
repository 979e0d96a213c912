// Pure: extended attributes as minic layers carry them: which namespaces, the one size limit,
// and the canonical text of a layer's xattr table (the getfattr/setfattr dump format).
import { digestOf, type Digest } from "./digest.js";
import { MinicError } from "./errors.js";

/** One extended attribute: its full name (`security.capability`) and its value, as bytes. */
export interface Xattr {
  name: string;
  value: Buffer;
}

/** The largest xattr name minic takes, in bytes (Linux's XATTR_NAME_MAX). */
export const XATTR_NAME_MAX = 255;
/** The largest xattr value minic takes, in bytes (Linux's XATTR_SIZE_MAX). */
export const XATTR_VALUE_MAX = 65536;

/**
 * Why minic does not carry an xattr of this name, or undefined when it does. Carried:
 * `security.capability` (file capabilities) and `user.*`. Not carried (dropped with a note):
 * `security.selinux` and the other `security.*` labels (the host's policy labels a container;
 * an image's label would be its builder's), `system.posix_acl_*` and other `system.*`, and
 * `trusted.*` (overlayfs' own `trusted.overlay.*` among them; a container cannot see them).
 */
export function uncarriedXattr(name: string): string | undefined {
  if (name === "security.capability" || (name.startsWith("user.") && name.length > 5)) return undefined;
  if (name.startsWith("security.")) return "security labels other than security.capability";
  if (name.startsWith("system.")) return "system.* (ACLs)";
  if (name.startsWith("trusted.")) return "trusted.*";
  return "unknown namespaces";
}

/**
 * Splits the xattrs a reader found on `path` into those minic carries (sorted by name, bytewise)
 * and the names of the others. Throws EARCHIVE for a name or value over the one size limit, and
 * for a name given twice.
 */
export function splitXattrs(found: readonly Xattr[], path: string): { carried: Xattr[]; dropped: string[] } {
  const carried: Xattr[] = [];
  const dropped: string[] = [];
  for (const x of found) {
    const problem = xattrProblem(x);
    if (problem) throw new MinicError("EARCHIVE", `extended attribute '${shown(x.name)}' of '${path}' ${problem}`, { hint: XATTR_HINT });
    if (uncarriedXattr(x.name) === undefined) carried.push(x);
    else dropped.push(x.name);
  }
  carried.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (let i = 1; i < carried.length; i++) {
    if (carried[i]!.name === carried[i - 1]!.name) throw new MinicError("EARCHIVE", `extended attribute '${shown(carried[i]!.name)}' of '${path}' is given twice`, { hint: "the archive is corrupt" });
  }
  return { carried, dropped };
}

const XATTR_HINT = `minic carries xattr names up to ${XATTR_NAME_MAX} bytes and values up to ${XATTR_VALUE_MAX} bytes (the Linux limits); remove it (setfattr -x NAME FILE)`;

/** What is wrong with an xattr's size or name, or undefined. */
export function xattrProblem(x: Xattr): string | undefined {
  const n = Buffer.byteLength(x.name);
  if (n === 0 || x.name.includes("\0")) return "has an empty name or a NUL in its name";
  if (n > XATTR_NAME_MAX) return `has a ${n}-byte name, over the ${XATTR_NAME_MAX} bytes minic carries`;
  if (x.value.length > XATTR_VALUE_MAX) return `has a ${x.value.length}-byte value, over the ${XATTR_VALUE_MAX} bytes minic carries`;
  return undefined;
}

/**
 * The digest of a file's carried xattrs (as splitXattrs sorts them), for a copy step's cache key:
 * the same attributes, the same digest.
 */
export function xattrsDigest(carried: readonly Xattr[]): Digest {
  return digestOf(carried.map((x) => [x.name, x.value.toString("base64")]));
}

/** A layer member's carried xattrs, for the table. */
export interface XattrRow {
  /** The member's name in the layer (relative, no `./`). */
  path: string;
  xattrs: readonly Xattr[];
}

/**
 * The canonical xattr table of a layer: `setfattr --restore` input, as `getfattr -d -m - -e base64`
 * writes it: for each member with xattrs, sorted by name (bytes), `# file: PATH`, then one
 * `NAME=0sBASE64` line per attribute (sorted by name), then an empty line. In paths `\`, LF and
 * CR are written `\ooo`, in attribute names `=` too (getfattr's quoting). Same rows, same bytes.
 */
export function encodeXattrTable(rows: readonly XattrRow[]): Buffer {
  const sorted = rows.filter((r) => r.xattrs.length > 0).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  let out = "";
  for (const r of sorted) {
    out += `# file: ${quote(r.path, "\n\r")}\n`;
    for (const x of r.xattrs) out += `${quote(x.name, "=\n\r")}=0s${x.value.toString("base64")}\n`;
    out += "\n";
  }
  return Buffer.from(out, "utf8");
}

/**
 * Reads a layer's xattr table (see encodeXattrTable): path → its xattrs. Throws EARCHIVE when the
 * bytes are not exactly the canonical table of what they hold (malformed, unsorted, a namespace
 * minic does not carry, a size over the limit): a layer has one way to say its xattrs.
 */
export function decodeXattrTable(buf: Buffer): Map<string, Xattr[]> {
  const bad = (why: string): never => {
    throw new MinicError("EARCHIVE", `the layer's xattr table is malformed: ${why}`, { hint: "the layer is corrupt or was not written by minic" });
  };
  const text = buf.toString("utf8");
  const rows: XattrRow[] = [];
  const out = new Map<string, Xattr[]>();
  let current: Xattr[] | undefined;
  const lines = text.split("\n");
  if (lines.pop() !== "") bad("it does not end with a newline");
  for (const line of lines) {
    if (line.startsWith("# file: ")) {
      const path = unquote(line.slice(8));
      if (out.has(path)) bad(`'${path}' is listed twice`);
      current = [];
      out.set(path, current);
      rows.push({ path, xattrs: current });
    } else if (line === "") {
      current = undefined;
    } else {
      if (current === undefined) bad(`a line outside a file section: '${line.slice(0, 60)}'`);
      const eq = line.indexOf("=0s");
      if (eq <= 0) bad(`'${line.slice(0, 60)}' is not NAME=0sBASE64`);
      const name = unquote(line.slice(0, eq));
      const value = Buffer.from(line.slice(eq + 3), "base64");
      current!.push({ name, value });
    }
  }
  if (rows.length === 0) bad("it is empty");
  for (const r of rows) {
    if (r.xattrs.length === 0) bad(`'${r.path}' has no attributes`);
    const { dropped } = splitXattrs(r.xattrs, r.path);
    if (dropped.length > 0) bad(`'${r.path}' has '${shown(dropped[0]!)}', a namespace minic layers do not carry`);
  }
  if (!encodeXattrTable(rows).equals(buf)) bad("it is not in canonical form (sorted, base64, getfattr quoting)");
  return out;
}

/** getfattr's quoting: `\` and the given characters as `\ooo`. */
function quote(s: string, chars: string): string {
  let out = "";
  for (const ch of s) {
    if (ch === "\\" || chars.includes(ch)) out += "\\" + ch.charCodeAt(0).toString(8).padStart(3, "0");
    else out += ch;
  }
  return out;
}

/** Undoes getfattr's `\ooo` quoting (bytes, then UTF-8). */
export function unquote(s: string): string {
  if (!s.includes("\\")) return s;
  const b = Buffer.from(s, "utf8");
  const out: number[] = [];
  const octal = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x37;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && octal(b[i + 1]) && octal(b[i + 2]) && octal(b[i + 3])) {
      out.push(((b[i + 1]! - 0x30) << 6) | ((b[i + 2]! - 0x30) << 3) | (b[i + 3]! - 0x30));
      i += 3;
    } else out.push(b[i]!);
  }
  return Buffer.from(out).toString("utf8");
}

/** A name for a message: printable, at most 80 characters. */
function shown(name: string): string {
  const s = name.replace(/[^\x20-\x7e]/g, "?");
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
