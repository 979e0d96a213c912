// `minic export` as a tar (podman export's format): the same merged tree as the rootfs.cpio.bz2,
// read back member by member and written as tar (hard links, devices, owners and times kept).
import { PassThrough, Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { decompress } from "../archive/bzip2.js";
import { MinicError } from "../core/errors.js";
import { readCpio } from "../archive/cpio-reader.js";
import type { StoredImage, Store } from "../store/store.js";
import { flattenImage, type FlattenReport } from "./flatten.js";
import { tarStream } from "./layer-to-tar.js";

/** What `export` writes. */
export type ExportFormat = "cpio" | "tar" | "tar.gz";

/**
 * Pure: the format `-o NAME` asks for by its suffix (rootfs.tar, rootfs.tar.gz, .tgz); cpio
 * otherwise. A tar name with a compression export does not write (.tar.bz2, .tar.xz, .tar.zst,
 * .tbz2) is refused: it would get a bzip2 cpio under a tar's name.
 */
export function exportFormatOf(name: string | undefined): ExportFormat {
  if (name === undefined) return "cpio";
  if (/\.tar$/i.test(name)) return "tar";
  if (/\.(tar\.gz|tgz)$/i.test(name)) return "tar.gz";
  const other = /\.(tar\.[a-z0-9]+|tbz2?|txz|tzst)$/i.exec(name);
  if (other) {
    throw new MinicError("EUSAGE", `export writes no '${other[0]}' file`, { hint: "-o NAME.tar or NAME.tar.gz (--format tar, tar.gz), or NAME.cpio.bz2 (the default); compress a .tar with another tool after" });
  }
  return "cpio";
}

/**
 * Writes the image's merged tree to `out` as tar (gzip-compressed for "tar.gz"). Either side's
 * failure stops the other: nothing waits on a reader that is gone.
 */
export async function flattenImageToTar(store: Store, image: StoredImage, out: Writable, gzip: boolean): Promise<FlattenReport> {
  const cpio = new PassThrough({ highWaterMark: 1 << 20 });
  const tar = Readable.from(tarStream(readCpio(decompress(cpio))));
  const written = (gzip ? pipeline(tar, createGzip({ level: 6 }), out) : pipeline(tar, out)).catch((e: unknown) => {
    cpio.destroy(e as Error);
    throw e;
  });
  // A flatten that fails before it writes (a damaged layer, a full tmp) must end the cpio too:
  // the decompressor would wait on its stdin for ever, and the tar side with it.
  const flattened = flattenImage(store, image, cpio).catch((e: unknown) => {
    cpio.destroy(e as Error);
    tar.destroy(e as Error);
    throw e;
  });
  const [f, w] = await Promise.allSettled([flattened, written]);
  if (f.status === "rejected") throw f.reason;
  if (w.status === "rejected") throw w.reason;
  return f.value;
}
