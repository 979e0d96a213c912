// writevAll: every byte of every buffer reaches the file, in order, however few bytes each
// writev takes (a nearly full disk takes what fits); the error that stops it is thrown.
import { describe, expect, it } from "vitest";
import type { FileHandle } from "node:fs/promises";
import { writevAll } from "../../src/util/write-all.js";

/** A FileHandle whose writev takes at most `most` bytes per call, then fails with `failAfter` bytes taken. */
function fakeHandle(most: number, failAfter = Infinity): { fh: FileHandle; written: () => string; calls: () => number } {
  const out: number[] = [];
  let calls = 0;
  const fh = {
    writev: async (bufs: Uint8Array[]) => {
      calls++;
      if (out.length >= failAfter) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      let take = Math.min(most, failAfter - out.length);
      let bytesWritten = 0;
      for (const b of bufs) {
        const n = Math.min(take, b.length);
        out.push(...b.subarray(0, n));
        bytesWritten += n;
        take -= n;
        if (take === 0) break;
      }
      return { bytesWritten, buffers: bufs };
    },
  } as unknown as FileHandle;
  return { fh, written: () => Buffer.from(out).toString(), calls: () => calls };
}

const bufs = () => ["alpha", "", "be", "gamma-delta", "e"].map((s) => Buffer.from(s));

describe("writevAll", () => {
  it("writes everything in one call when the file takes it all", async () => {
    const f = fakeHandle(1000);
    await writevAll(f.fh, bufs());
    expect(f.written()).toBe("alphabegamma-deltae");
    expect(f.calls()).toBe(1);
  });

  for (const most of [1, 2, 3, 5, 7]) {
    it(`goes on after short writes of at most ${most} byte(s), inside and across buffers`, async () => {
      const f = fakeHandle(most);
      await writevAll(f.fh, bufs());
      expect(f.written()).toBe("alphabegamma-deltae");
    });
  }

  it("throws the error that stopped it (a full disk) after what fitted", async () => {
    const f = fakeHandle(4, 9);
    await expect(writevAll(f.fh, bufs())).rejects.toMatchObject({ code: "ENOSPC" });
    expect(f.written()).toBe("alphabega");
  });

  it("does not change the caller's list", async () => {
    const list = bufs();
    await writevAll(fakeHandle(3).fh, list);
    expect(list.map((b) => b.toString())).toEqual(["alpha", "", "be", "gamma-delta", "e"]);
  });
});
