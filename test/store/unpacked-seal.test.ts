// unpackedProblem looked up from inside the tree (minic run's fast form) says what the plain
// form says, and leaves the process's working directory where it was.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.js";
import { sealUnpacked, unpackedProblem } from "../../src/store/unpacked-seal.js";

const t = tempDir("minic-seal-");
afterAll(() => t.remove());

describe("unpackedProblem({ fromInside })", () => {
  it("finds the same change as the plain check, and the working directory is restored", async () => {
    const dir = join(t.path, "layer");
    mkdirSync(join(dir, "etc/deep"), { recursive: true });
    writeFileSync(join(dir, "etc/deep/f"), "x");
    writeFileSync(join(dir, "etc/os-release"), "ID=a\n");
    await sealUnpacked(dir, dir);
    const cwd = process.cwd();
    expect(unpackedProblem(dir, { fromInside: true })).toBeUndefined();
    expect(process.cwd()).toBe(cwd);
    chmodSync(join(dir, "etc/deep/f"), 0o600);
    expect(unpackedProblem(dir)).toBe("etc/deep/f was changed");
    expect(unpackedProblem(dir, { fromInside: true })).toBe("etc/deep/f was changed");
    renameSync(join(dir, "etc/deep"), join(t.path, "moved"));
    expect(unpackedProblem(dir)).toBe("etc was changed"); // its directory, listed before what it holds
    expect(unpackedProblem(dir, { fromInside: true })).toBe("etc was changed");
    expect(process.cwd()).toBe(cwd);
  });
});

describe("a seal of an older minic", () => {
  it("does not vouch for its tree (its layer's form was not checked, a whiteout and a directory of its name unpacked otherwise): the layer is unpacked again", async () => {
    const dir = join(t.path, "old");
    mkdirSync(join(dir, "etc"), { recursive: true });
    await sealUnpacked(dir, dir);
    expect(unpackedProblem(dir)).toBeUndefined();
    const seal = JSON.parse(readFileSync(`${dir}.seal`, "utf8"));
    expect(seal.form).toBe(true);
    delete seal.form;
    writeFileSync(`${dir}.seal`, JSON.stringify(seal));
    expect(unpackedProblem(dir)).toBe("it was unpacked by an older minic");
    await sealUnpacked(dir, dir, false); // another minic's tree, sealed in place after a race
    expect(unpackedProblem(dir)).toBe("it was unpacked by an older minic");
  });
});
