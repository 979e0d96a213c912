// Regression: building never writes through a symlink of the rootfs onto the host.
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, ROOT, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-safety-");
afterAll(() => t.remove());

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("symlinks in the rootfs are never followed onto the host", () => {
  it("file, copy and run steps through bin/sh -> /bin/busybox and dir links leave the host untouched", async () => {
    const hostBusybox = sha("/bin/busybox");
    const hostSh = sha("/bin/sh");
    const marker = `minic-regression-${process.pid}`;
    expect(existsSync(join("/etc", marker))).toBe(false);
    const dir = join(t.path, "r");
    mkdirSync(join(dir, "files"), { recursive: true });
    writeFileSync(join(dir, "files/ls"), "#!/bin/sh\necho copied-ls\n");
    writeFileSync(
      join(dir, "app.ts"),
      [
        `import { copy, defineRecipe, file, run, symlink } from "minic";`,
        `import busybox from ${JSON.stringify(join(ROOT, "recipes/busybox.ts"))};`,
        `export default defineRecipe({ name: "safety", base: busybox, steps: [`,
        `  file("/bin/sh", "#!/bin/busybox sh\\necho replaced-sh\\n", { mode: 0o755 }),`,
        `  copy("files/ls", "/bin", { mode: 0o755 }),`,
        `  symlink("/hostetc", "/etc"),`,
        `  file("/hostetc/${marker}", "inside the image\\n"),`,
        `  symlink("/up", "../../../../../tmp"),`,
        `  file("/up/${marker}", "in the image tmp\\n"),`,
        `  run(["/bin/busybox", "sh", "-c", "rm /bin/cat && echo via-run > /bin/cat"]),`,
        `] });`,
      ].join("\n"),
    );
    const store = join(t.path, "s");
    await minicOk(["build", join(dir, "app.ts"), "--store", store]);
    expect(sha("/bin/busybox")).toBe(hostBusybox);
    expect(sha("/bin/sh")).toBe(hostSh);
    expect(existsSync(join("/etc", marker))).toBe(false);
    expect(existsSync(join("/tmp", marker))).toBe(false);

    const img = JSON.parse((await minicOk(["inspect", "safety", "--json", "--store", store])).stdout);
    const out = join(t.path, "flat");
    mkdirSync(out);
    for (const l of img.layers) {
      execFileSync("sh", ["-c", `bzip2 -dc '${join(store, "blobs/sha256", l.digest.slice(7))}' | cpio -idmu --quiet`], { cwd: out });
    }
    expect(readFileSync(join(out, "bin/sh"), "utf8")).toMatch(/replaced-sh/);
    expect(readFileSync(join(out, "bin/ls"), "utf8")).toMatch(/copied-ls/);
    expect(readFileSync(join(out, "etc", marker), "utf8")).toBe("inside the image\n");
    expect(readFileSync(join(out, "tmp", marker), "utf8")).toBe("in the image tmp\n");
    expect(readFileSync(join(out, "bin/cat"), "utf8")).toBe("via-run\n");
    expect(sha(join(out, "bin/busybox"))).toBe(hostBusybox);
  });
});
