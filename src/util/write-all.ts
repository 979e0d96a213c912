// Writes whole buffers. write(2) may take fewer bytes than it was given (on a nearly full disk it
// takes what fits and fails only on the next call): a single write per chunk left files short
// while their hash covered every byte, and a full disk made a blob whose name did not match it.
import type { FileHandle } from "node:fs/promises";
import { writeSync } from "node:fs";

/** Writes all of `buf` at the file's position, or throws the error that stopped it. */
export async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** Writes all of `buf` to `fd`, or throws the error that stopped it. */
export function writeAllSync(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}
