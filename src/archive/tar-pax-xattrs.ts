// Reads the extended attributes of tar members from their pax headers, as raw bytes. tar-stream
// (which parses the members) decodes pax values as UTF-8, which mangles binary values such as
// security.capability; this scanner watches the same bytes go by and keeps them exact.
import type { Xattr } from "../core/xattrs.js";

const BLOCK = 512;

/** Keys of xattr pax records: GNU tar and star write `SCHILY.xattr.NAME=RAW`, bsdtar also `LIBARCHIVE.xattr.URLNAME=BASE64`. */
const SCHILY = "SCHILY.xattr.";
const LIBARCHIVE = "LIBARCHIVE.xattr.";

/**
 * Passes a tar stream through unchanged while noting, for each member in order (not pax or GNU
 * long-name headers), the xattrs its pax headers (and the global ones before it) give. A reader
 * that parses the same stream takes them with `next()` for each member it meets, in order.
 */
export class PaxXattrScanner {
  private readonly queue: Xattr[][] = [];
  private header = Buffer.alloc(0);
  /** Bytes of member data (and padding) still to pass over. */
  private skip = 0;
  /** A pax header's records being collected: its type and how many bytes are still missing. */
  private collecting: { type: "x" | "g"; left: number; parts: Buffer[]; pad: number } | undefined;
  private global: Xattr[] = [];
  private local: Xattr[] | undefined;
  private localSize: number | undefined;

  /** The xattrs of the next member (as found, unchecked); [] when it has none. */
  next(): Xattr[] {
    return this.queue.shift() ?? [];
  }

  /** Yields `source` unchanged, scanning it as it goes. */
  async *tap(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.scan(chunk);
      yield chunk;
    }
  }

  private scan(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const c = this.collecting;
      if (c !== undefined) {
        const n = Math.min(c.left, chunk.length - at);
        c.parts.push(Buffer.from(chunk.subarray(at, at + n)));
        c.left -= n;
        at += n;
        if (c.left === 0) {
          this.collecting = undefined;
          this.skip = c.pad;
          this.records(c.type, Buffer.concat(c.parts));
        }
        continue;
      }
      const n = Math.min(BLOCK - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + n)]);
      at += n;
      if (this.header.length === BLOCK) {
        const h = this.header;
        this.header = Buffer.alloc(0);
        this.onHeader(h);
      }
    }
  }

  private onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // end-of-archive blocks (tar-stream reads on past them too)
    const type = String.fromCharCode(h[156]!);
    const size = sizeField(h.subarray(124, 136));
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === "x" || type === "g") {
      this.collecting = { type, left: size, parts: [], pad };
      if (size === 0) {
        this.collecting = undefined;
        this.records(type, Buffer.alloc(0));
      }
      return;
    }
    if (type === "L" || type === "K") {
      this.skip = size + pad;
      return;
    }
    // A member: its xattrs are the global ones overridden by its own pax header's.
    const own = this.local ?? [];
    const merged = [...this.global.filter((g) => !own.some((x) => x.name === g.name)), ...own];
    this.queue.push(merged);
    const dataSize = type === "5" ? 0 : this.localSize ?? size;
    this.local = undefined;
    this.localSize = undefined;
    this.skip = dataSize + ((BLOCK - (dataSize % BLOCK)) % BLOCK);
  }

  private records(type: "x" | "g", buf: Buffer): void {
    const schily: Xattr[] = [];
    const libarchive: Xattr[] = [];
    let size: number | undefined;
    let at = 0;
    while (at < buf.length) {
      const sp = buf.indexOf(0x20, at);
      if (sp < 0) break;
      const len = Number(buf.toString("latin1", at, sp));
      if (!Number.isSafeInteger(len) || len <= sp - at || at + len > buf.length) break;
      const rec = buf.subarray(sp + 1, at + len - 1);
      at += len;
      const eq = rec.indexOf(0x3d);
      if (eq < 0) continue;
      const key = rec.toString("utf8", 0, eq);
      const value = rec.subarray(eq + 1);
      if (key.startsWith(SCHILY)) schily.push({ name: gnuDecode(key.slice(SCHILY.length)), value: Buffer.from(value) });
      else if (key.startsWith(LIBARCHIVE)) {
        const name = urlDecode(key.slice(LIBARCHIVE.length));
        if (name !== undefined) libarchive.push({ name, value: Buffer.from(value.toString("latin1"), "base64") });
      } else if (key === "size" && type === "x") size = Number(value.toString("latin1"));
    }
    // bsdtar writes both; its SCHILY keywords leave a '=' in a name as it is (then the record
    // splits in the wrong place), its LIBARCHIVE ones are exact: when a header has those, they win.
    const found = libarchive.length > 0 ? libarchive : schily;
    if (type === "g") this.global = found;
    else {
      this.local = found;
      this.localSize = Number.isSafeInteger(size) ? size : undefined;
    }
  }
}

/** GNU tar's xattr keyword: `%25` and `%3D` stand for `%` and `=`. */
function gnuDecode(s: string): string {
  return s.replace(/%3D/g, "=").replace(/%25/g, "%");
}

/** A ustar numeric field: octal digits, or base-256 (GNU) when the high bit of its first byte is set. */
function sizeField(f: Buffer): number {
  if (f[0]! & 0x80) {
    let n = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    return n;
  }
  const txt = f.toString("latin1").replace(/\0.*$/s, "").trim();
  return txt === "" ? 0 : parseInt(txt, 8);
}

/** bsdtar's %XX-encoded xattr name, or undefined when it is not valid UTF-8 after decoding. */
function urlDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
