// `minic import DIR` of a tree that changes while it is read (names renamed back and forth):
// either a tree that existed, or the one-line "changed while it was being read", never an
// internal error (lstat ENOENT, readlink EINVAL) nor a tree that never existed at once.
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-walk-race-");
afterAll(() => t.remove());

describe("a tree that changes while import reads it", () => {
  it("is a tree that existed, or one line saying it changed; never exit 70", async () => {
    const src = join(t.path, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(join(src, "sub", `f${i}`), `${i}\n`);
    symlinkSync("/etc", join(src, "alt"));
    // Swaps the directory and the link, as fast as sh can.
    const swapper = execa("sh", ["-c", "cd \"$0\" && while :; do mv sub tmp && mv alt sub && mv tmp alt; done", src], { reject: false });
    const seen = { ok: 0, changed: 0 };
    try {
      for (let i = 0; i < 12; i++) {
        const store = join(t.path, `s${i}`);
        const r = await minic(["import", src, "-t", `race:${i}`, "--store", store]);
        if (r.exitCode === 0) {
          seen.ok++;
          const listing = (await execa("sh", ["-c", `"$0" export --store "$1" race:${i} -o - | bzip2 -dc | cpio -itv --quiet`, join(process.cwd(), "bin/minic"), store])).stdout;
          // One of the two names is the directory with its 300 files, the other the link.
          const links = listing.split("\n").filter((l) => l.startsWith("l"));
          expect(links, listing).toHaveLength(1);
          expect(listing.split("\n").filter((l) => /\/f\d+$/.test(l))).toHaveLength(300);
        } else {
          seen.changed++;
          // Changed while it was walked, or between the walk and the packing of a file (the
          // directory a file was listed in is the link by then): both are one honest line.
          expect([r.exitCode, r.stderr.trim()], r.stderr).toEqual([1, expect.stringMatching(/^minic: (directory .* changed while it was being read \(hint: do not modify the tree while minic reads it; run it again\)|'[^']+' changed size while it was being packed \(hint: do not modify the tree during a build; run it again\))$/)]);
        }
      }
    } finally {
      swapper.kill("SIGKILL");
      await swapper;
    }
    expect(seen.ok + seen.changed).toBe(12);
  }, 120_000);
});
