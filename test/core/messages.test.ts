// Pure message helpers: what reaches the terminal, and the warning for an image of another architecture.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MinicError, oneLine, printable } from "../../src/core/errors.js";
import { foreignArchNote } from "../../src/core/image.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

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

describe("every error says what to do", () => {
  // Errors that never reach a user as such: internal invariants (exit 1 with the bug named), the
  // wrapper that adds context to an error of its own, and the interruption main words itself.
  const INTERNAL = [/\(internal error\)/, /`\$\{context\}: \$\{msg\}`/, /"the blob was not read to its end"/, /"the side read of the layer ended"/, /"the layer was not packed to its end"/, /`no data source for/, /`size mismatch for/];

  it("gives each MinicError minic throws a hint (a source scan: a new one without fails here)", () => {
    const missing: string[] = [];
    for (const f of readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((n) => n.endsWith(".ts"))) {
      const s = readFileSync(join(ROOT, "src", f), "utf8");
      for (const m of s.matchAll(/new MinicError\(/g)) {
        let depth = 1;
        let i = m.index! + m[0].length;
        for (; depth > 0 && i < s.length; i++) depth += s[i] === "(" ? 1 : s[i] === ")" ? -1 : 0;
        const call = s.slice(m.index, i);
        if (/hint|EINTERRUPTED/.test(call) || INTERNAL.some((r) => r.test(call))) continue;
        missing.push(`${f}:${s.slice(0, m.index).split("\n").length}: ${call.replace(/\s+/g, " ").slice(0, 120)}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
