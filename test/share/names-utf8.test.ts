// Names are bytes (issue 10 item 3): a name that is not UTF-8 is refused by every reader with
// one line showing its bytes, never rewritten (it became bad\xEF\xBF\xBDname, another file); a
// UTF-8 name round-trips exactly. GNU tar and GNU cpio make the archives from a real directory.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-names-");
afterAll(() => t.remove());
const store = join(t.path, "store");
const sh = (cmd: string, cwd = t.path) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" });

describe("names are bytes", () => {
  it("a name that is not UTF-8 is refused by import of a tar and of a cpio, one line each, nothing stored", async () => {
    const dir = join(t.path, "bad");
    mkdirSync(dir);
    sh(`printf x > "$(printf 'bad\\377name')" && tar -cf ../bad.tar . && find . -mindepth 1 | cpio -o -H newc --quiet > ../bad.cpio`, dir);
    sh(`ln -s "$(printf 'to\\377')" ../badlink && cd .. && tar -cf badlink.tar badlink`, dir);
    for (const [file, what] of [["bad.tar", "tar member name"], ["bad.cpio", "cpio member name"], ["badlink.tar", "link target of tar member 'badlink'"]] as const) {
      const r = await minic(["import", join(t.path, file), "-t", "bad:1", "--store", store]);
      expect(r.exitCode, file).toBe(1);
      expect(r.stderr.trim().split("\n"), file).toHaveLength(1);
      expect(r.stderr, file).toContain(`minic: ${what} '`);
      expect(r.stderr, file).toMatch(/\\xff.*' is not valid UTF-8 \(hint: minic layers store names as UTF-8/);
    }
    expect((await minicOk(["images", "--store", store])).stdout).not.toMatch(/bad/);
  });

  it("UTF-8 names round-trip exactly through tar and cpio import and export", async () => {
    const dir = join(t.path, "good");
    const names = ["café", "日本語.txt", "emoji-😀", "tab\tname"];
    mkdirSync(dir);
    for (const n of names) writeFileSync(join(dir, n), n);
    sh(`tar -cf ../good.tar . && find . -mindepth 1 | cpio -o -H newc --quiet > ../good.cpio`, dir);
    for (const file of ["good.tar", "good.cpio"]) {
      await minicOk(["import", join(t.path, file), "-t", "good:1", "--store", store]);
      await minicOk(["export", "good:1", "-o", join(t.path, "good.cpio.bz2"), "--store", store]);
      const out = join(t.path, `out-${file}`);
      mkdirSync(out);
      sh(`bzip2 -dc ../good.cpio.bz2 | cpio -idm --quiet`, out);
      expect(readdirSync(out, { encoding: "buffer" }).map((b) => b.toString("hex")).sort(), file).toEqual(names.map((n) => Buffer.from(n).toString("hex")).sort());
    }
  });
});
