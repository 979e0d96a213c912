// inspect's text form says what the image holds as run uses it: the entrypoint apart from the
// cmd (run's arguments replace the cmd only), the labels, and for a layer two recipes made, the
// file of the recipe the image's history names (it was the last build's, whichever recipe that was).
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-inspect-text-");
afterAll(() => t.remove());
const store = join(t.path, "store");
const recipe = (dir: string, name: string, config = "{}") => {
  mkdirSync(join(t.path, dir), { recursive: true });
  const f = join(t.path, dir, `${name}.ts`);
  writeFileSync(f, `import { defineRecipe, file } from "minic";\nexport default defineRecipe({ name: "${name}", steps: [file("/etc/p", "same\\n")], config: ${config} });\n`);
  return f;
};

describe("inspect (text)", () => {
  it("names the maker of a shared layer by the image's own recipe; shows entrypoint, cmd and labels apart", async () => {
    const a = recipe("one", "prov-a", `{ entrypoint: ["/bin/echo", "ep"], cmd: ["default-arg"], labels: { a: "b" } }`);
    const b = recipe("two", "prov-b");
    await minicOk(["build", a, "-q", "--store", store]);
    await minicOk(["build", b, "-q", "--store", store]); // the same layer, built last by another recipe
    const text = (await minicOk(["inspect", "prov-a", "--store", store])).stdout;
    expect(text).toContain(`made by minic build prov-a (${a})`);
    expect(text).toMatch(/^entrypoint \["\/bin\/echo","ep"\]$/m);
    expect(text).toMatch(/^cmd +\["default-arg"\]$/m);
    expect(text).toMatch(/^labels +\{"a":"b"\}$/m);
    expect((await minicOk(["inspect", "prov-b", "--store", store])).stdout).toContain(`made by minic build prov-b (${b})`);
  });
});
