// imageNode/readImageFile over unpacked layer dirs: top layer first, whiteouts (overlay and
// aufs) hide, and no symlink of the image is followed on the host.
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.js";
import { imageNode, readImageFile, type PreparedRoot } from "../../src/runtime/storage.js";

const t = tempDir("minic-image-node-");
afterAll(() => t.remove());

function layer(name: string, files: Record<string, string | { link: string } | { dir: true }>): string {
  const d = join(t.path, name);
  for (const [rel, v] of Object.entries(files)) {
    const p = join(d, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    if (typeof v === "string") writeFileSync(p, v);
    else if ("link" in v) symlinkSync(v.link, p);
    else mkdirSync(p, { recursive: true });
  }
  mkdirSync(d, { recursive: true });
  return d;
}

describe("imageNode", () => {
  const host = layer("host", { "passwd": "host secret\n" });
  const base = layer("base", { "etc/passwd": "base\n", "etc/group": "g\n", "usr/bin/x": "x", "opt/a": "a" });
  const mid = layer("mid", { "etc/passwd": "mid\n", "usr": { dir: true } });
  const top = layer("top", { "opt": { link: host }, ".wh.usr": "" });
  const root = (dirs: string[]): PreparedRoot => ({ rootfs: "/nonexistent", layerDirs: dirs });

  it("reads the topmost copy", () => {
    expect(readImageFile(root([base, mid]), "etc/passwd")).toBe("mid\n");
    expect(readImageFile(root([base, mid]), "etc/group")).toBe("g\n");
  });

  it("an aufs whiteout hides the lower layers' node", () => {
    expect(imageNode(root([base, mid]), "usr")?.st.isDirectory()).toBe(true);
    expect(imageNode(root([base, mid, top]), "usr")).toBeUndefined();
    expect(imageNode(root([base, mid, top]), "usr/bin/x")).toBeUndefined();
  });

  it("an opaque directory hides what the layers below have in it (aufs marker and overlay record)", () => {
    const aufs = layer("aufs-opq", { "etc/.wh..wh..opq": "", "etc/hosts": "h\n" });
    expect(readImageFile(root([base, aufs]), "etc/hosts")).toBe("h\n");
    expect(readImageFile(root([base, aufs]), "etc/passwd")).toBeUndefined();
    expect(readImageFile(root([base, aufs]), "usr/bin/x")).toBe("x"); // other dirs still show through
    const ovl = layer("ovl-opq", { "etc/hosts": "h\n" });
    const records = (l: string) => new Set(l === ovl ? ["etc"] : []);
    expect(readImageFile({ ...root([base, ovl]), opaqueDirs: records }, "etc/passwd")).toBeUndefined();
    expect(readImageFile(root([base, ovl]), "etc/passwd")).toBe("base\n"); // without the record it shows
    // A layer's root is never opaque (overlayfs always merges the roots), whatever a marker says.
    const rootMarked = layer("root-opq", { ".wh..wh..opq": "", "top.txt": "t" });
    expect(readImageFile(root([base, rootMarked]), "etc/passwd")).toBe("base\n");
  });

  it("a symlinked parent is not followed on the host, and hides the lower dir", () => {
    expect(readImageFile(root([base, top]), "opt/passwd")).toBeUndefined();
    expect(readImageFile(root([base, top]), "opt/a")).toBeUndefined();
    expect(imageNode(root([base, top]), "opt")?.st.isSymbolicLink()).toBe(true);
  });
});
