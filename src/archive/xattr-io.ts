// Extended attributes on disk, read and set in batches through getfattr and setfattr (Node has
// no xattr calls): one process for a whole tree or a list of files, none when nothing has any.
import { MinicError } from "../core/errors.js";
import { faultInText } from "../core/faults.js";
import { encodeXattrTable, unquote, type Xattr, type XattrRow } from "../core/xattrs.js";
import { ExecError, run as exec, status as execStatus, type ExecOptions, type ExecResult } from "../util/exec.js";

/** A getfattr or setfattr that is not installed: what to install (the attr package). */
function withAttrHint(e: unknown): unknown {
  if (e instanceof MinicError && e.code === "EHOST" && /(get|set)fattr is not installed/.test(e.message)) {
    return new MinicError("EHOST", `${e.message.split(" ")[0]} is not installed: minic reads and sets extended attributes (file capabilities, user.*) with getfattr and setfattr`, { hint: "apt-get install attr", cause: e });
  }
  return e;
}

function status(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  return execStatus(argv, opts).catch((e: unknown) => {
    throw withAttrHint(e);
  });
}

function run(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  return exec(argv, opts).catch((e: unknown) => {
    throw withAttrHint(e);
  });
}

/**
 * Every extended attribute under `root` (root itself excluded), or only the one named `only`, by
 * relative name: one `getfattr -R` that follows no symlink, values in base64.
 */
export async function treeXattrs(root: string, only?: string): Promise<Map<string, Xattr[]>> {
  const pick = only === undefined ? ["-d", "-m", "-"] : ["-n", only];
  const r = await status(["getfattr", "-R", "-P", "-h", ...pick, "-e", "base64", "--absolute-names", "--", root], { stdout: "pipe", stderr: "pipe" });
  const out = new Map<string, Xattr[]>();
  for (const [path, list] of readDump(r.stdout)) {
    if (path.startsWith(root + "/")) out.set(path.slice(root.length + 1), list);
  }
  return out;
}

const FILES_PER_CALL = 512;

/** The extended attributes of each of `paths` (absolute; symlinks not followed) that has any. */
export async function filesXattrs(paths: readonly string[]): Promise<Map<string, Xattr[]>> {
  const out = new Map<string, Xattr[]>();
  for (let i = 0; i < paths.length; i += FILES_PER_CALL) {
    const r = await status(["getfattr", "-h", "-d", "-m", "-", "-e", "base64", "--absolute-names", "--", ...paths.slice(i, i + FILES_PER_CALL)], { stdout: "pipe", stderr: "pipe" });
    for (const [p, list] of readDump(r.stdout)) out.set(p, list);
  }
  return out;
}

/**
 * Sets `rows` (paths relative to `dir`, which the caller made: no symlink on the way) with one
 * `setfattr -h --restore`: a row's final component is never followed. A full disk is a fault at `dir`.
 */
export async function setXattrs(dir: string, rows: readonly XattrRow[]): Promise<void> {
  if (rows.length === 0) return;
  try {
    await run(["setfattr", "-h", "--restore=-"], { cwd: dir, input: encodeXattrTable(rows), stdout: "ignore", stderr: "pipe" });
  } catch (e) {
    if (e instanceof ExecError) throw faultInText(e.stderr, dir) || new MinicError("EARCHIVE", `cannot set extended attributes under ${dir}: ${e.stderr.trim().split("\n").pop()}`, { hint: "the filesystem must support user.* and security.* xattrs (tmpfs, ext4, xfs, btrfs do)", cause: e });
    throw e;
  }
}

/** Pure: a `getfattr -d` dump (base64, hex or text values), by path as printed (unquoted). */
export function readDump(text: string): Map<string, Xattr[]> {
  const out = new Map<string, Xattr[]>();
  let current: Xattr[] | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      current = [];
      out.set(unquote(line.slice(8)), current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current === undefined || eq <= 0) continue;
    const v = line.slice(eq + 1);
    const value = v.startsWith("0s") ? Buffer.from(v.slice(2), "base64") : v.startsWith("0x") ? Buffer.from(v.slice(2), "hex") : Buffer.from(v.replace(/^"|"$/g, ""));
    current.push({ name: unquote(line.slice(0, eq)), value });
  }
  for (const [k, v] of out) if (v.length === 0) out.delete(k);
  return out;
}
