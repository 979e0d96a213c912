// An OCI image layout directory (`skopeo copy … oci:DIR`, `umoci`), read as the tar of it that
// `minic load` takes: `podman load -i DIR` loads one too. Only its regular files are read, never
// through a symlink (a layout's files are plain files; a symlinked blob could read any host file
// that the digest then names), each checked to keep the size it had when the walk listed it.
import { constants as fsc, lstatSync, openSync, readdirSync, readSync, closeSync, fstatSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";
import { padding, TAR_END, tarHeader } from "../archive/tar-header.js";

/** True when `dir` is a directory holding an `oci-layout` file (what the layout spec requires). */
export function isLayoutDir(dir: string): boolean {
  try {
    // The directory given may be a symlink to one (followed once, as import DIR does); nothing in it is.
    return statSync(dir).isDirectory() && lstatSync(join(dir, "oci-layout")).isFile();
  } catch {
    return false;
  }
}

const CHUNK = 1 << 20;

/** The tar bytes of the layout's regular files (names relative to `dir`), then the end blocks. */
export async function* layoutTar(dir: string): AsyncGenerator<Buffer> {
  for (const rel of listFiles(dir, "")) {
    const path = join(dir, rel);
    let fd: number;
    try {
      fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    } catch (e) {
      throw new MinicError("EINPUT", `cannot read '${path}' of the OCI layout: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: "the layout changed while it was read, or is not readable; nothing was stored" });
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw changed(path);
      yield tarHeader({ name: rel, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: st.size });
      let left = st.size;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) throw changed(path);
        left -= n;
        yield buf.subarray(0, n);
      }
      if (readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) throw changed(path);
      yield Buffer.alloc(padding(st.size));
    } finally {
      closeSync(fd);
    }
  }
  yield TAR_END;
}

/** Relative names of the regular files below `dir`, sorted; a symlink or special file is refused. */
function listFiles(dir: string, rel: string): string[] {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true });
  } catch (e) {
    throw new MinicError("EINPUT", `cannot list '${rel ? join(dir, rel) : dir}' of the OCI layout: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: "the layout changed while it was read, or is not readable; nothing was stored" });
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
    else {
      throw new MinicError("EINPUT", `'${join(dir, r)}' in the OCI layout is ${e.isSymbolicLink() ? "a symlink" : "not a regular file"}`, {
        hint: "an OCI layout holds plain files (skopeo and umoci write them so): copy it with its links resolved (cp -rL) and load the copy; nothing was stored",
      });
    }
  }
  return out;
}

function changed(path: string): MinicError {
  return new MinicError("EINPUT", `'${path}' of the OCI layout changed while it was read`, { hint: "load it again once nothing writes to it; nothing was stored" });
}
