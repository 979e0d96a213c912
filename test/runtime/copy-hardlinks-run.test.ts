// Hard links that copy() keeps are links in a running container too, under the overlay and
// copy storage drivers: one inode, its link count, its content under every name.
import { describe, expect, it } from "vitest";
import { linkSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk } from "../helpers/cli.js";
import { runtimeSuite } from "./fixtures.js";

const { run } = runtimeSuite(async (fx) => {
  const dir = join(fx.root, "links");
  mkdirSync(join(dir, "d/sub"), { recursive: true });
  writeFileSync(join(dir, "d/a"), "linked\n");
  linkSync(join(dir, "d/a"), join(dir, "d/b"));
  linkSync(join(dir, "d/a"), join(dir, "d/sub/c"));
  writeFileSync(join(dir, "app.ts"), `import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: "links", base: "bb", steps: [copy("d", "/app")] });\n`);
  await minicOk(["build", join(dir, "app.ts"), "--store", fx.store]);
});

describe("copy()'s hard links in a running container", () => {
  for (const driver of ["overlay", "copy"]) {
    it(`${driver}: one inode with three links, the same content under each name`, async () => {
      const r = await run(["--storage-driver", driver, "links", "--", "/bin/sh", "-c",
        "for f in /app/a /app/b /app/sub/c; do set -- $(ls -lid $f); echo $1 $3; done; cat /app/a /app/b /app/sub/c"]);
      expect(r.stderr).toBe("");
      const [l1, l2, l3, ...content] = r.stdout.trim().split("\n");
      const ino = l1!.split(" ")[0];
      expect([l1, l2, l3]).toEqual([`${ino} 3`, `${ino} 3`, `${ino} 3`]);
      expect(content).toEqual(["linked", "linked", "linked"]);
    });
  }
});
