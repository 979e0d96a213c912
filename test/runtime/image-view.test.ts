// openImageView: the container's image as the command and workdir checks see it, with overlay
// layers' opaque directories taken from the store's records (no xattrs are read).
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.js";
import { openImageView } from "../../src/runtime/bind-targets.js";
import type { PreparedRoot } from "../../src/runtime/storage.js";

const t = tempDir("minic-image-view-");
afterAll(() => t.remove());

function dir(rel: string, files: Record<string, string> = {}): string {
  const d = join(t.path, rel);
  mkdirSync(d, { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(d, name, ".."), { recursive: true });
    writeFileSync(join(d, name), body);
  }
  return d;
}

describe("openImageView", () => {
  const base = dir("base", { "etc/passwd": "base\n", "usr/bin/x": "x" });
  const top = dir("top", { "etc/hosts": "h\n" });

  it("an overlay layer's recorded opaque directory hides the layers below, though the tree has no xattr", async () => {
    const upper = dir("c1/upper");
    const root: PreparedRoot = { rootfs: join(t.path, "c1/merged"), layerDirs: [base, top], upper, opaqueDirs: (l) => new Set(l === top ? ["etc"] : []) };
    const view = await openImageView(root, join(t.path, "c1"));
    expect(view.visible("etc/hosts")?.layer).toBe(1);
    expect(view.visible("etc/passwd")).toBeNull();
    expect(view.visible("usr/bin/x")?.layer).toBe(2);
  });

  it("without records (aufs, copy) the layers' own markers are read", async () => {
    const upper = dir("c2/upper");
    const view = await openImageView({ rootfs: join(t.path, "c2/merged"), layerDirs: [base, top], upper }, join(t.path, "c2"));
    expect(view.visible("etc/passwd")?.layer).toBe(2);
  });
});
