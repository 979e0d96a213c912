// Faults of the machine as one line naming the path and what to do (the CLI's exit 1). ENOSPC
// and EROFS are also met for real in test/runtime/disk-faults.test.ts; EDQUOT and EIO need a
// quota or a failing disk, which this host's kernel cannot make (no tmpfs quotas, no dm-error).
import { describe, expect, it } from "vitest";
import { MinicError, oneLine, withContext } from "../../src/core/errors.js";
import { atPath, faultError, faultInText, isFault } from "../../src/core/faults.js";

const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: x, write`), { code, ...(path ? { path } : {}) });

describe("faults", () => {
  it("each fault is one line with its path and what to do", () => {
    expect(oneLine(faultError(errno("ENOSPC", "/s/tmp/.blob-1-a")))).toBe("no space left on device writing /s/tmp/.blob-1-a (hint: free space on that filesystem ('minic gc' frees what no image uses, in a store) and run the command again; nothing half-written was kept)");
    expect(oneLine(faultError(errno("EDQUOT", "/s/x")))).toMatch(/^disk quota exceeded writing \/s\/x \(hint: free space or raise the quota .*; nothing half-written was kept\)$/);
    expect(oneLine(faultError(errno("EROFS", "/s/x")))).toMatch(/^cannot write \/s\/x: the filesystem is read-only \(hint: remount it read-write/);
    expect(oneLine(faultError(errno("EIO", "/s/x")))).toMatch(/^input\/output error at \/s\/x \(the disk or filesystem failed\) \(hint: see 'dmesg' .*'minic fsck'/);
    expect(faultError(errno("EIO")).code).toBe("EDISK");
  });

  it("a write through a file descriptor gets the path it was writing; a path already known stays", () => {
    expect((atPath(errno("ENOSPC"), "/a") as NodeJS.ErrnoException).path).toBe("/a");
    expect((atPath(errno("ENOSPC", "/b"), "/a") as NodeJS.ErrnoException).path).toBe("/b");
    expect((atPath(errno("ENOENT"), "/a") as NodeJS.ErrnoException).path).toBeUndefined();
  });

  it("context is not added to a fault (a full disk is not the copy source's fault); other errors get it", () => {
    const f = errno("ENOSPC", "/s/upper/f");
    expect(withContext(f, "recipe 'x' step 2: copy source")).toBe(f);
    expect(isFault(withContext(f, "ctx"))).toBe(true);
    expect(withContext(errno("EACCES"), "ctx")).toBeInstanceOf(MinicError);
    expect(isFault(new MinicError("EHOST", "cgroup: ENOSPC"))).toBe(false);
  });

  it("a program's message about a full disk is that fault at the path it made", () => {
    const f = faultInText("mknod: /s/u/x: No space left on device\n", "/s/u/x");
    expect(f).toMatchObject({ code: "ENOSPC", path: "/s/u/x" });
    expect(faultInText("mknod: Operation not permitted", "/x")).toBeUndefined();
  });
});
