// Recognises a stream's compression by its first bytes and undoes it: gzip (zlib), bzip2
// (archive/bzip2.ts), zstd and xz through the zstd and xz tools (Node 20's zlib has neither;
// through the one exec seam, as bzip2), or none.
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { MinicError } from "../core/errors.js";
import { decompress as bunzip2 } from "../archive/bzip2.js";
import { throughProgram } from "../archive/through-program.js";
import { findProgram } from "../util/which.js";

export type Compression = "gzip" | "bzip2" | "zstd" | "xz" | "none";

/** Pure: the compression whose magic number starts `head`. */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 3 && head.toString("latin1", 0, 3) === "BZh") return "bzip2";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
  return "none";
}

/** Reads enough of `source` to recognise its compression; returns it and the whole stream again. */
export async function sniff(source: AsyncIterable<Buffer>): Promise<{ compression: Compression; head: Buffer; stream: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.from(r.value);
    head.push(b);
    len += b.length;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { compression: detectCompression(first), head: first, stream: replay() };
}

/** Pure: a compression minic does not read that `head` starts with (for the refusal), if any. */
export function unreadCompression(head: Buffer): { name: string; tool: string } | undefined {
  const hex = head.subarray(0, 4).toString("hex");
  if (hex === "04224d18") return { name: "lz4", tool: "lz4 -dc" };
  if (hex === "4c5a4950") return { name: "lzip", tool: "lzip -dc" };
  if (hex.startsWith("894c5a4f")) return { name: "lzop", tool: "lzop -dc" };
  return undefined;
}

/** The plain bytes of `source`, whatever compression it uses. */
export async function plainStream(source: AsyncIterable<Buffer>, what: string): Promise<AsyncIterable<Buffer>> {
  const { compression, head, stream } = await sniff(source);
  switch (compression) {
    case "none": {
      const other = unreadCompression(head);
      if (other) throw new MinicError("EINPUT", `${what} is compressed with ${other.name}, which minic does not read`, { hint: `decompress it first (${other.tool} FILE > FILE.tar) and give minic the plain tar` });
      return stream;
    }
    case "bzip2":
      return bunzip2(stream);
    case "gzip": {
      const input = Readable.from(stream);
      const gunzip = createGunzip();
      input.on("error", (e) => gunzip.destroy(e));
      gunzip.on("error", () => {});
      return wrapErrors(input.pipe(gunzip), what);
    }
    case "zstd":
    case "xz": {
      const tool = TOOLS[compression];
      if (!findProgram(tool.argv[0]!)) {
        throw new MinicError("EHOST", `${what} is compressed with ${compression}, and ${tool.argv[0]} is not installed`, { hint: `apt-get install ${tool.pkg}` });
      }
      return wrapErrors(throughProgram(tool.argv, stream, `the data is not valid ${compression}, or is truncated`), what);
    }
  }
}

/** The decompressors minic runs for what zlib cannot read, and their Debian packages. */
const TOOLS = {
  zstd: { argv: ["zstd", "-d", "-c", "-q", "--no-progress"], pkg: "zstd" },
  xz: { argv: ["xz", "-d", "-c", "-q", "-T0"], pkg: "xz-utils" },
} as const;

async function* wrapErrors(s: Readable, what: string): AsyncGenerator<Buffer> {
  try {
    for await (const c of s) yield c as Buffer;
  } catch (e) {
    if (e instanceof MinicError) throw e;
    throw new MinicError("EARCHIVE", `${what}: ${(e as Error).message}`, { hint: "the data is truncated or corrupt", cause: e });
  }
}
