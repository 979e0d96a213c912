// Pure message helpers: what reaches the terminal, and the warning for an image of another architecture.
import { describe, expect, it } from "vitest";
import { MinicError, oneLine, printable } from "../../src/core/errors.js";
import { foreignArchNote } from "../../src/core/image.js";

describe("printable", () => {
  it("shows control characters (C0 but tab and newline, DEL, C1) as \\xHH and keeps the rest", () => {
    expect(printable("x\x1b[2J\ry")).toBe("x\\x1b[2J\\x0dy");
    expect(printable("a\tb\nc")).toBe("a\tb\nc");
    expect(printable("\x00\x7f\x9b")).toBe("\\x00\\x7f\\x9b");
    expect(printable("naïve ünïcode ✓")).toBe("naïve ünïcode ✓");
  });

  it("is applied to one-line errors, so a name from a tarball cannot move the cursor", () => {
    const line = oneLine(new MinicError("EREF", "invalid image name 'x\x1b[2J'", "use lowercase"));
    expect(line).not.toMatch(/\x1b/);
    expect(line).toContain("x\\x1b[2J");
  });
});

describe("foreignArchNote", () => {
  it("says nothing when the image's architecture is the host's or unnamed", () => {
    expect(foreignArchNote("amd64", "amd64")).toBeUndefined();
    expect(foreignArchNote(undefined, "amd64")).toBeUndefined();
    expect(foreignArchNote("", "arm64")).toBeUndefined();
  });

  it("names an emulator for a foreign architecture", () => {
    expect(foreignArchNote("arm64", "amd64")).toBe("is for linux/arm64, this host is linux/amd64: its programs run only through an emulator (binfmt_misc, qemu-user)");
    expect(foreignArchNote("amd64", "arm64")).toMatch(/only through an emulator/);
    expect(foreignArchNote("arm", "amd64")).toMatch(/only through an emulator/);
  });

  it("names the kernel's 32-bit support for 386 on amd64 and arm on arm64", () => {
    expect(foreignArchNote("386", "amd64")).toBe("is for linux/386, this host is linux/amd64: its programs run only where the kernel runs 32-bit programs (CONFIG_COMPAT), or through an emulator");
    expect(foreignArchNote("arm", "arm64")).toMatch(/CONFIG_COMPAT/);
  });
});
