// Regression: an image without /usr failed under nspawn with nspawn's own message ("doesn't look
// like it has an OS tree"). minic now refuses it before starting, in one line that says what to
// add to the recipe; the chroot runtime runs it.
import { describe, expect, it } from "vitest";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { minicOk } from "../helpers/cli.js";
import { runtimeSuite, stackedImage } from "./fixtures.js";

const { run } = runtimeSuite(async (fx) => {
  // A scratch image: just a shell, no /usr.
  const t = join(fx.root, "scratch");
  mkdirSync(join(t, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(t, "bin/busybox"));
  chmodSync(join(t, "bin/busybox"), 0o755);
  symlinkSync("busybox", join(t, "bin/sh"));
  await minicOk(["import", t, "-t", "scratch", "--store", fx.store]);
  // /usr deleted by an upper layer (a whiteout).
  await stackedImage(fx.store, fx.tree, "nousr", [{ "usr": { whiteout: true } }]);
});

describe("an image without /usr", () => {
  for (const image of ["scratch", "nousr"]) {
    for (const driver of ["overlay", "copy"]) {
      it(`${image}, ${driver}: nspawn is refused before starting, with a hint; chroot runs it`, async () => {
        const r = await run(["--storage-driver", driver, image, "--", "/bin/sh", "-c", "echo ran"]);
        expect(r.exitCode).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(new RegExp(`image '${image}' has no /usr.*hint: add dir\\("/usr"\\).*/etc/os-release.*--runtime chroot`));
        expect(r.stderr).not.toMatch(/OS tree/);
        const c = await run(["--storage-driver", driver, "--runtime", "chroot", image, "--", "/bin/sh", "-c", "echo ran"]);
        expect(c.stderr).toBe("");
        expect(c.stdout.trim()).toBe("ran");
      });
    }
  }
});
