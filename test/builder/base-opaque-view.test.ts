// A build step sees its base image as a container would: a directory a base layer made opaque
// (removed and made again) hides what the layers below it had there. The base layers' opaque
// directories come from the store's records of the unpacked layers (written when each was
// unpacked), not from a `getfattr -R` over every base layer for every build.
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-opaque-view-");
afterAll(() => t.remove());

const write = (name: string, text: string) => writeFileSync(join(t.path, name), text);
write("a.ts", `import { defineRecipe, dir, file } from "minic";\nexport default defineRecipe({ name: "ova", steps: [dir("/d"), file("/d/old", "1\\n")] });\n`);
write("b.ts", `import { defineRecipe, dir, file, remove } from "minic";\nimport a from "./a.ts";\nexport default defineRecipe({ name: "ovb", base: a, steps: [remove("/d"), dir("/d"), file("/d/new", "2\\n")] });\n`);
write("hidden.ts", `import { defineRecipe, remove } from "minic";\nimport b from "./b.ts";\nexport default defineRecipe({ name: "ovhidden", base: b, steps: [remove("/d/old")] });\n`);
write("seen.ts", `import { defineRecipe, remove } from "minic";\nimport b from "./b.ts";\nexport default defineRecipe({ name: "ovseen", base: b, steps: [remove("/d/new")] });\n`);
const store = join(t.path, "store");

describe("a build step's view of its base", () => {
  it("hides what an opaque directory of a base layer covers, reading the layers' records, not their xattrs", async () => {
    await minicOk(["build", join(t.path, "b.ts"), "--store", store]);
    const hidden = await minic(["build", join(t.path, "hidden.ts"), "--store", store], { env: { MINIC_DEBUG: "1" } });
    expect(hidden.exitCode).toBe(1);
    expect(hidden.stderr.split("\n").filter((l) => l.startsWith("minic:"))).toEqual([
      "minic: recipe 'ovhidden' step 1 (remove /d/old): cannot remove /d/old: it does not exist (hint: check the path against the base image (minic run BASE ls))",
    ]);
    // The step's own upper dir is read (it is new), the base layers are not.
    const reads = hidden.stderr.split("\n").filter((l) => l.startsWith("+ getfattr"));
    expect(reads.filter((l) => l.includes(`${store}/unpacked/`))).toEqual([]);
    const seen = await minic(["build", join(t.path, "seen.ts"), "--store", store]);
    expect(seen.exitCode, seen.stderr).toBe(0);
    expect(seen.stderr).toMatch(/^ovseen: built layer sha256:/m);
  });
});
