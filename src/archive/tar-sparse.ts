// Sparse tar members (GNU tar -S, bsdtar's default for files with holes): the member's data
// holds only the file's data segments, and a map says where each goes; the rest are holes, read
// as zeros. Three forms are read: the old GNU header's map (typeflag S, with its extension
// blocks: see tar-raw-headers), pax GNU.sparse.map (format 0.1) and the map at the start of
// the data (format 1.0). The file is expanded to its real size (a layer's newc cpio has no holes).
import { MinicError } from "../core/errors.js";

/** Where each data segment goes in the file, in order. */
export type SparseMap = { offset: number; size: number }[];

const BLOCK = 512;
/** Zeros written for a hole, a piece at a time. */
const ZEROS = Buffer.alloc(1 << 20);
/** More segments than any real file has: bounds what a hostile map can make minic hold. */
export const MAX_SPARSE_SEGMENTS = 1 << 20;

const corrupt = (name: string, what: string) =>
  new MinicError("EARCHIVE", `tar member '${name}' is a sparse file with ${what}`, { hint: "the tarball is corrupt; nothing was stored" });

/** Pure: a pax GNU.sparse.map value, `offset,size,offset,size…` (format 0.1). */
export function parseSparseMapRecord(v: string, name: string): SparseMap {
  const nums = v === "" ? [] : v.split(",").map((x) => number(x, name));
  if (nums.length % 2 !== 0) throw corrupt(name, `a map of ${nums.length} numbers (offset,size pairs)`);
  if (nums.length / 2 > MAX_SPARSE_SEGMENTS) throw corrupt(name, `${nums.length / 2} segments`);
  const map: SparseMap = [];
  for (let i = 0; i < nums.length; i += 2) map.push({ offset: nums[i]!, size: nums[i + 1]! });
  return map;
}

function number(x: string, name: string): number {
  const n = /^\d{1,16}$/.test(x) ? Number(x) : NaN;
  if (!Number.isSafeInteger(n)) throw corrupt(name, `'${x.slice(0, 24)}' in its map, not a number`);
  return n;
}

/** Pure: throws unless the segments are in order, do not overlap and end within `realSize`. */
export function checkSparseMap(map: SparseMap, realSize: number, name: string): void {
  let end = 0;
  for (const { offset, size } of map) {
    if (offset < end) throw corrupt(name, `segments out of order or overlapping (at ${offset})`);
    end = offset + size;
    if (end > realSize) throw corrupt(name, `a segment (${offset}+${size}) past its size ${realSize}`);
  }
}

/**
 * The file's bytes: the member's `data` (its segments, one after the other) placed as `map`
 * says, zeros in between and up to `realSize`. Throws EARCHIVE when the data is shorter or
 * longer than the segments.
 */
export async function* expandSparse(data: AsyncIterable<Buffer>, map: SparseMap, realSize: number, name: string): AsyncGenerator<Buffer> {
  checkSparseMap(map, realSize, name);
  let pos = 0; // in the file
  let seg = 0;
  let left = map[0]?.size ?? 0; // of segment `seg`
  /** Moves past segments with nothing left to fill (empty ones too). */
  const nextSegment = () => {
    while (seg < map.length && left === 0) left = map[++seg]?.size ?? 0;
  };
  const zeros = function* (to: number) {
    while (pos < to) {
      const n = Math.min(ZEROS.length, to - pos);
      pos += n;
      yield ZEROS.subarray(0, n);
    }
  };
  for await (let chunk of data) {
    while (chunk.length > 0) {
      nextSegment();
      if (seg >= map.length) throw corrupt(name, "more data than its map's segments");
      yield* zeros(map[seg]!.offset + (map[seg]!.size - left));
      const n = Math.min(left, chunk.length);
      yield chunk.subarray(0, n);
      chunk = chunk.subarray(n);
      left -= n;
      pos += n;
    }
  }
  nextSegment();
  if (seg < map.length) throw corrupt(name, "less data than its map's segments");
  yield* zeros(realSize);
}

/**
 * Format 1.0: the member's data starts with the map (decimal numbers, one per line: how many
 * segments, then each one's offset and size), padded to a 512-byte block; the segments follow.
 */
export async function* expandSparse10(data: AsyncIterable<Buffer>, realSize: number, name: string): AsyncGenerator<Buffer> {
  const it = data[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  const nums: number[] = [];
  let want: number | undefined;
  let used = 0; // bytes of `head` the numbers took
  while (want === undefined || nums.length < want) {
    const nl = head.indexOf(0x0a, used);
    if (nl < 0) {
      if (head.length - used > 32) throw corrupt(name, "a map line that is not a number");
      const r = await it.next();
      if (r.done) throw corrupt(name, "a map cut short");
      head = Buffer.concat([head, r.value]);
      continue;
    }
    const n = number(head.toString("latin1", used, nl), name);
    used = nl + 1;
    if (want === undefined) {
      if (n > MAX_SPARSE_SEGMENTS) throw corrupt(name, `${n} segments`);
      want = 1 + 2 * n;
    }
    nums.push(n);
  }
  const mapBytes = Math.ceil(used / BLOCK) * BLOCK;
  // The map's padding, then the segments' data.
  while (head.length < mapBytes) {
    const r = await it.next();
    if (r.done) throw corrupt(name, "a map cut short");
    head = Buffer.concat([head, r.value]);
  }
  const map: SparseMap = [];
  for (let i = 1; i < nums.length; i += 2) map.push({ offset: nums[i]!, size: nums[i + 1]! });
  const rest = head.subarray(mapBytes);
  async function* segments(): AsyncGenerator<Buffer> {
    if (rest.length > 0) yield rest;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  yield* expandSparse(segments(), map, realSize, name);
}
