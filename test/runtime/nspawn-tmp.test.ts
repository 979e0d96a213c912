// Regression: systemd-nspawn mounted a tmpfs on /tmp, hiding the image's /tmp (and dropping what
// a build run step wrote there). minic runs nspawn with SYSTEMD_NSPAWN_TMPFS_TMP=0; /run stays
// the tmpfs nspawn requires.
import { describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk } from "../helpers/cli.js";
import { runtimeSuite, stackedImage } from "./fixtures.js";

const { fx, run } = runtimeSuite(async (fx) => {
  await stackedImage(fx.store, fx.tree, "tmpimg", [{ "tmp/seen": "in image\n" }]);
});

describe("/tmp under nspawn", () => {
  for (const driver of ["overlay", "copy"]) {
    it(`${driver}: the image's /tmp shows; /run is a tmpfs`, async () => {
      const r = await run(["--storage-driver", driver, "tmpimg", "--", "/bin/sh", "-c", "cat /tmp/seen; grep -q ' /tmp tmpfs ' /proc/mounts && echo tmp-tmpfs; grep -q ' /run tmpfs ' /proc/mounts && echo run-tmpfs"]);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("in image\nrun-tmpfs");
    });
  }

  it("a container's /tmp writes stay in its own upper dir", async () => {
    expect((await run(["tmpimg", "--", "/bin/sh", "-c", "echo x > /tmp/new"])).exitCode).toBe(0);
    expect((await run(["tmpimg", "--", "/bin/sh", "-c", "test -e /tmp/new && echo leaked || echo clean"])).stdout.trim()).toBe("clean");
  });

  it("a build run step's /tmp writes land in its layer", async () => {
    const dir = join(fx.root, "recipe-tmp");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "r.ts"), `import { defineRecipe, run } from "minic";\nexport default defineRecipe({ name: "tmpbuilt", base: "bb", steps: [run("cat /tmp/seen 2>/dev/null; echo built > /tmp/from-run")] });\n`);
    await minicOk(["build", join(dir, "r.ts"), "--store", fx.store]);
    const r = await run(["tmpbuilt", "--", "/bin/cat", "/tmp/from-run"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("built");
  }, 120_000);
});
