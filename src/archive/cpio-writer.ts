// Streams a planned archive as newc cpio bytes, reading file data from the host as it goes.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import { encodeHeader, pad4 } from "./cpio-newc.js";
import { trailerHeader, type PlannedMember } from "./cpio-canonical.js";

/**
 * A host file found by a walk: read at write time only if it is still the same regular file
 * (device and inode as walked), so a tree that changes under minic cannot slip in another file.
 */
export interface HostFile {
  path: string;
  /** `dev:ino` when walked. */
  id: string;
}

/** Where a file's data comes from: a host file (read at write time) or bytes in memory. */
export type DataSource = HostFile | string | Buffer;

const CHUNK = 1 << 20;
const SMALL = 256 * 1024;
const ZEROS = Buffer.alloc(4);

/**
 * Yields the archive's bytes, member by member, ending with the trailer and padding to 512.
 * `dataOf` gives the source of each file member that carries data. A host file whose size
 * differs from the planned size throws EARCHIVE (the tree changed while packing).
 */
export async function* writeCpio(members: readonly PlannedMember[], dataOf: (m: PlannedMember) => DataSource | undefined): AsyncGenerator<Buffer> {
  let total = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const push = (b: Buffer) => {
    pending.push(b);
    pendingLen += b.length;
    total += b.length;
  };
  const flush = () => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
    pending = [];
    pendingLen = 0;
    return out;
  };
  for (const m of members) {
    push(encodeHeader(m.header));
    const size = m.header.filesize;
    if (size === 0) continue;
    if (m.entry.kind === "symlink") {
      push(Buffer.from(m.entry.linkname ?? "", "utf8"));
    } else {
      const src = m.data ?? dataOf(m);
      if (src === undefined) throw new MinicError("EARCHIVE", `no data source for '${m.entry.name}'`);
      if (Buffer.isBuffer(src)) {
        if (src.length !== size) throw new MinicError("EARCHIVE", `size mismatch for '${m.entry.name}'`);
        push(src);
      } else if (size <= SMALL) {
        push(await readExact(src, size, m.entry.name));
      } else {
        if (pendingLen > 0) yield flush();
        yield* readChunks(src, size, m.entry.name);
        total += size;
      }
    }
    const p = pad4(size);
    if (p) push(ZEROS.subarray(0, p));
    if (pendingLen >= CHUNK) yield flush();
  }
  push(encodeHeader(trailerHeader()));
  const tail = (512 - (total % 512)) % 512;
  if (tail) push(Buffer.alloc(tail));
  yield flush();
}

/**
 * Opens a host file for packing without following a symlink or blocking on a fifo, and checks it
 * is the regular file that was walked. Anything else: EARCHIVE, the tree changed while packing.
 */
function openSource(src: HostFile | string, name: string): number {
  const path = typeof src === "string" ? src : src.path;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    changed(name);
  }
  const st = fstatSync(fd);
  if (!st.isFile() || (typeof src !== "string" && `${st.dev}:${st.ino}` !== src.id)) {
    closeSync(fd);
    changed(name);
  }
  return fd;
}

// Reads are synchronous on purpose: for many small files readSync is several times faster than
// the promise API, and packing has nothing else to do while it waits.
async function readExact(src: HostFile | string, size: number, name: string): Promise<Buffer> {
  const fd = openSource(src, name);
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    while (got < size + 1) {
      const n = readSync(fd, buf, got, size + 1 - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got !== size) changed(name);
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

async function* readChunks(src: HostFile | string, size: number, name: string): AsyncGenerator<Buffer> {
  const fd = openSource(src, name);
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) changed(name);
      left -= n;
      yield buf.subarray(0, n);
    }
    if (readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) changed(name);
  } finally {
    closeSync(fd);
  }
}

function changed(name: string): never {
  throw new MinicError("EARCHIVE", `'${name}' changed size while it was being packed`, { hint: "do not modify the tree during a build; run it again" });
}
