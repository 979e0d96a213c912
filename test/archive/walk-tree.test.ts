// walkTree: entries of a host tree, overlay upper dirs read as whiteouts, bad names refused.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, linkSync } from "node:fs";
import { join } from "node:path";
import { walkTree } from "../../src/archive/walk-tree.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
beforeEach(() => { t = tempDir("minic-walk-"); });
afterEach(() => t.remove());

describe("walkTree", () => {
  it("reads an overlay upper dir: 0/0 char devices become .wh.NAME, opaque dirs get .wh..wh..opq", async () => {
    mkdirSync(join(t.path, "etc/opaque"), { recursive: true });
    execFileSync("mknod", [join(t.path, "etc/gone"), "c", "0", "0"]);
    execFileSync("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", join(t.path, "etc/opaque")]);
    writeFileSync(join(t.path, "etc/opaque/kept"), "k");
    const names = (await walkTree(t.path, { overlay: true })).map((e) => `${e.entry.name}:${e.entry.kind}`).sort();
    expect(names).toEqual(["etc/.wh.gone:file", "etc/opaque/.wh..wh..opq:file", "etc/opaque/kept:file", "etc/opaque:dir", "etc:dir"]);
    // Without overlay the device is a device and no marker appears.
    const plain = (await walkTree(t.path)).map((e) => `${e.entry.name}:${e.entry.kind}`).sort();
    expect(plain).toEqual(["etc/gone:chardev", "etc/opaque/kept:file", "etc/opaque:dir", "etc:dir"]);
  });

  it("gives hard links one key and data paths for files", async () => {
    writeFileSync(join(t.path, "a"), "x");
    linkSync(join(t.path, "a"), join(t.path, "b"));
    const tree = await walkTree(t.path);
    expect(tree.every((e) => e.hostPath === join(t.path, e.entry.name))).toBe(true);
    expect(tree[0]!.entry.linkKey).toBeDefined();
    expect(tree[0]!.entry.linkKey).toBe(tree[1]!.entry.linkKey);
  });

  it("refuses a name that is not valid UTF-8 with EARCHIVE naming it (was a raw ENOENT)", async () => {
    mkdirSync(join(t.path, "d"));
    // Create the file through the shell: Node strings cannot hold the raw byte.
    execFileSync("sh", ["-c", `touch "$(printf 'd/bad\\377name')"`], { cwd: t.path });
    await expect(walkTree(t.path)).rejects.toMatchObject({ code: "EARCHIVE", message: expect.stringMatching(/d\/bad\\xffname.*not valid UTF-8/) });
  });

  it("accepts a name that really contains U+FFFD", async () => {
    writeFileSync(join(t.path, "odd\uFFFDname"), "ok");
    expect((await walkTree(t.path)).map((e) => e.entry.name)).toEqual(["odd\uFFFDname"]);
  });
});
