// A bounded queue of byte chunks between one writer and one reader that run side by side (a
// stream teed to a second consumer), with backpressure both ways.

/**
 * The writer awaits `write` (it returns once the queue is under its bound) and calls `end` or
 * `fail`; the reader iterates once. When the reader gives up (`abort`, e.g. its consumer
 * failed), every later `write` throws that error, so the writer stops too.
 */
export class ByteChannel implements AsyncIterable<Buffer> {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private aborted: { error: unknown } | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  /** `limit`: bytes queued before `write` waits. */
  constructor(private readonly limit = 4 << 20) {}

  /** Queues `chunk`; waits while the queue is over its bound. Throws the reader's error once it aborted. */
  async write(chunk: Buffer): Promise<void> {
    this.checkReader();
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wake("reader");
    while (this.queued > this.limit && this.aborted === undefined) await new Promise<void>((r) => (this.wakeWriter = r));
    this.checkReader();
  }

  private checkReader(): void {
    if (this.aborted !== undefined) throw this.aborted.error;
  }

  /** No more chunks: the reader ends once it has read what is queued. */
  end(): void {
    this.ended = true;
    this.wake("reader");
  }

  /** The writer failed: the reader throws `error` (after what is queued). */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake("reader");
  }

  /** The reader stopped: the writer's next (or waiting) `write` throws `error`. */
  abort(error: unknown): void {
    this.aborted ??= { error };
    this.queue.length = 0;
    this.queued = 0;
    this.wake("writer");
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const c = this.queue.shift();
      if (c !== undefined) {
        this.queued -= c.length;
        if (this.queued <= this.limit) this.wake("writer");
        yield c;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended || this.aborted) return;
      await new Promise<void>((r) => (this.wakeReader = r));
    }
  }

  private wake(who: "reader" | "writer"): void {
    const f = who === "reader" ? this.wakeReader : this.wakeWriter;
    if (who === "reader") this.wakeReader = undefined;
    else this.wakeWriter = undefined;
    f?.();
  }
}
