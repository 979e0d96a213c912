// Pulls exact byte counts out of an async stream of chunks (the base of archive parsers).
import { MinicError } from "../core/errors.js";

export class ByteReader {
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = typeof r.value === "string" ? Buffer.from(r.value) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Exactly `n` bytes, or null at a clean end of stream (no bytes left). Throws on a short read. */
  async read(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return null;
        throw new MinicError("EARCHIVE", `archive is truncated (wanted ${n} bytes at offset ${this.offset}, got ${this.buf.length})`, {
          hint: "the file is incomplete or corrupt; fetch or save it again",
        });
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Exactly `n` bytes; a missing or short read throws EARCHIVE. */
  async readExact(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    const b = await this.read(n);
    if (b === null) {
      throw new MinicError("EARCHIVE", `archive is truncated at offset ${this.offset}`, { hint: "the file is incomplete or corrupt" });
    }
    return b;
  }

  /** Yields `n` bytes as chunks without holding them all in memory. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) {
        throw new MinicError("EARCHIVE", `archive is truncated at offset ${this.offset}`, { hint: "the file is incomplete or corrupt" });
      }
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      this.offset += take;
      left -= take;
      yield out;
    }
  }

  /** Skips `n` bytes. */
  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n));
  }

  /** Skips zero bytes; returns the next non-zero bytes (up to `n`, not consumed), or null at the end. */
  async peekAfterZeros(n: number): Promise<Buffer | null> {
    for (;;) {
      let i = 0;
      while (i < this.buf.length && this.buf[i] === 0) i++;
      this.buf = this.buf.subarray(i);
      this.offset += i;
      if (this.buf.length >= n) return this.buf.subarray(0, n);
      if (!(await this.fill())) return this.buf.length === 0 ? null : this.buf;
    }
  }

  /** Reads and discards whatever is left; says how many bytes that was and whether all were zero. */
  async drain(): Promise<{ bytes: number; zero: boolean }> {
    const start = this.offset;
    let zero = true;
    do {
      if (zero && this.buf.some((b) => b !== 0)) zero = false;
      this.offset += this.buf.length;
      this.buf = Buffer.alloc(0);
    } while (await this.fill());
    return { bytes: this.offset - start, zero };
  }
}
