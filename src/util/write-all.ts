// Writes whole buffers. write(2) may take fewer bytes than it was given (on a nearly full disk it
// takes what fits and fails only on the next call): a single write per chunk left files short
// while their hash covered every byte, and a full disk made a blob whose name did not match it.
import type { FileHandle } from "node:fs/promises";
import { writeSync } from "node:fs";

/** Writes all of `bufs` at the file's position (one writev per try), or throws the error that stopped it. */
export async function writevAll(fh: FileHandle, bufs: readonly Uint8Array[]): Promise<void> {
  let list = [...bufs];
  while (list.length > 0) {
    let n = (await fh.writev(list)).bytesWritten;
    let i = 0;
    while (i < list.length && n >= list[i]!.length) n -= list[i++]!.length;
    list = list.slice(i);
    if (n > 0) list[0] = list[0]!.subarray(n);
  }
}

/** Writes all of `buf` to `fd`, or throws the error that stopped it. */
export function writeAllSync(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}
