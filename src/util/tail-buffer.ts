// The last bytes of a stream, in bounded memory: what minic keeps of a program's output for its
// error messages (the output itself is streamed on, never held whole).

/** Keeps the last `max` bytes pushed into it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(readonly max: number) {}

  /** Appends `chunk`; memory stays below twice `max` whatever is pushed. */
  push(chunk: Buffer): void {
    if (chunk.length >= this.max) {
      this.chunks = [chunk.subarray(chunk.length - this.max)];
      this.size = this.max;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > 2 * this.max) this.compact();
  }

  /** The last `max` bytes (or all, when fewer were pushed). */
  bytes(): Buffer {
    this.compact();
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** The kept bytes as UTF-8 text (a character cut at the start shows as U+FFFD). */
  text(): string {
    return this.bytes().toString("utf8");
  }

  private compact(): void {
    const all = Buffer.concat(this.chunks, this.size);
    const kept = all.length > this.max ? all.subarray(all.length - this.max) : all;
    // A copy: a view would keep the whole concatenation alive.
    this.chunks = kept.length > 0 ? [Buffer.from(kept)] : [];
    this.size = kept.length;
  }
}

/** Pure: the last `n` non-empty lines of `text`, each cut to `width` characters, joined with " | ". */
export function lastLines(text: string, n: number, width = 200): string {
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  return lines.slice(-n).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)).join(" | ");
}
