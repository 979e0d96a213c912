// A program's live output shown line by line under minic's progress (`  | line`), in bounded
// memory and at the speed of a copy whatever the program prints: complete lines pass through at
// once, at most one unfinished line per stream is held back, and a line longer than the bound
// is shown in pieces.

const EMPTY = Buffer.alloc(0);
const NL = 10;

/** Prefixes each line of a byte stream; pure (bytes in, bytes out), one per stream. */
export class LinePrefixer {
  private readonly pre: Buffer;
  /** The unfinished last line seen so far (holds no newline; at most maxLine bytes). */
  private partial: Buffer = EMPTY;

  constructor(prefix: string, readonly maxLine = 64 * 1024) {
    this.pre = Buffer.from(prefix);
  }

  /**
   * The complete lines of `chunk` (after what was held back), each with the prefix and ending
   * in "\n"; the unfinished rest is held back, unless it would be over `maxLine` bytes: then it
   * is shown now, as a line of its own.
   */
  push(chunk: Buffer): Buffer {
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      if (this.partial.length + chunk.length <= this.maxLine) {
        this.partial = Buffer.concat([this.partial, chunk]);
        return EMPTY;
      }
      return this.render(chunk, true);
    }
    const out = this.render(chunk.subarray(0, last + 1), false);
    const rest = chunk.subarray(last + 1);
    if (rest.length <= this.maxLine) {
      this.partial = Buffer.from(rest); // a copy: the chunk itself is not kept
      return out;
    }
    return Buffer.concat([out, this.render(rest, true)]);
  }

  /** What is still held back, as a last line (empty when nothing is). */
  end(): Buffer {
    return this.partial.length === 0 ? EMPTY : this.render(EMPTY, true);
  }

  /**
   * The held-back part and then `body` as prefixed lines, the held-back part emptied. `body`
   * ends in "\n" unless `endLine`, which ends the last line with one.
   */
  private render(body: Buffer, endLine: boolean): Buffer {
    const pre = this.pre;
    const p = pre.length;
    const held = this.partial;
    this.partial = EMPTY;
    let lines = endLine ? 1 : 0;
    // Plain loops over the bytes: V8 compiles them to a tight loop; a call per line is far slower.
    for (let i = 0; i < body.length; i++) if (body[i] === NL) lines++;
    const out = Buffer.allocUnsafe(p * lines + held.length + body.length + (endLine ? 1 : 0));
    pre.copy(out, 0);
    held.copy(out, p);
    let o = p + held.length;
    const lastNl = endLine ? body.length : body.length - 1;
    for (let i = 0; i < body.length; i++) {
      const b = body[i]!;
      out[o++] = b;
      if (b === NL && i < lastNl) for (let j = 0; j < p; j++) out[o++] = pre[j]!;
    }
    if (endLine) out[o++] = NL;
    return out;
  }
}
