// The build's digest cache: a copied file is read again only when its identity (dev, ino, size,
// mtime, ctime) changed, and a file changed in the last two seconds is never remembered (a write
// in the same clock tick would not move its timestamps).
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, statSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DigestCache } from "../../src/builder/digest-cache.js";
import { minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-digests-");
afterAll(() => t.remove());
const D = "sha256:" + "ab".repeat(32);
const later = (s: { ctimeNs: bigint }) => s.ctimeNs + 10_000_000_000n;

describe("DigestCache", () => {
  it("gives a remembered digest back only for the same identity, and saves only what it learnt", async () => {
    const f = join(t.path, "f");
    writeFileSync(f, "x");
    const path = join(t.path, "digests.json");
    const c = await DigestCache.open(path);
    const st = statSync(f, { bigint: true });
    c.remember(f, st, D, later(st));
    expect(c.lookup(f, st)).toBe(D);
    expect(c.lookup(f, { ...st, ctimeNs: st.ctimeNs + 1n } as typeof st)).toBeUndefined();
    expect(c.lookup(f, { ...st, size: st.size + 1n } as typeof st)).toBeUndefined();
    expect(c.lookup(join(t.path, "g"), st)).toBeUndefined();
    await c.save();
    const again = await DigestCache.open(path);
    expect(again.lookup(f, st)).toBe(D);
    const mtime = statSync(path).mtimeMs;
    await again.save(); // nothing new: not written
    expect(statSync(path).mtimeMs).toBe(mtime);
  });

  it("remembers a file's xattrs digest (or none) beside its content digest, for the same identity only", async () => {
    const f = join(t.path, "fx");
    writeFileSync(f, "x");
    const path = join(t.path, "digests-x.json");
    const c = await DigestCache.open(path);
    const st = statSync(f, { bigint: true });
    const other = { ...st, ctimeNs: st.ctimeNs + 1n } as typeof st;
    c.rememberXattrs(f, st, D); // no content digest remembered: nothing
    expect(c.lookupXattrs(f, st)).toBeUndefined();
    c.remember(f, st, D, later(st));
    expect(c.lookupXattrs(f, st)).toBeUndefined(); // not read yet
    c.rememberXattrs(f, other, null); // another identity: nothing
    expect(c.lookupXattrs(f, st)).toBeUndefined();
    c.rememberXattrs(f, st, null);
    expect(c.lookupXattrs(f, st)).toBeNull();
    expect(c.lookupXattrs(f, other)).toBeUndefined();
    await c.save();
    const again = await DigestCache.open(path);
    expect(again.lookupXattrs(f, st)).toBeNull();
    again.rememberXattrs(f, st, D);
    await again.save();
    expect((await DigestCache.open(path)).lookupXattrs(f, st)).toBe(D);
  });

  it("a damaged cache is an empty one", async () => {
    for (const text of ["null", "[1]", "{\"x\": 1}", "{"]) {
      writeFileSync(join(t.path, "bad.json"), text);
      const c = await DigestCache.open(join(t.path, "bad.json"));
      expect(c.lookup(join(t.path, "f"), statSync(join(t.path, "bad.json"), { bigint: true }))).toBeUndefined();
    }
  });

  it("does not remember a file changed in the last two seconds", async () => {
    const f = join(t.path, "fresh");
    writeFileSync(f, "x");
    const c = await DigestCache.open(join(t.path, "fresh.json"));
    const st = statSync(f, { bigint: true });
    c.remember(f, st, D, st.ctimeNs + 1_000_000_000n);
    expect(c.lookup(f, st)).toBeUndefined();
    await c.save();
    expect(existsSync(join(t.path, "fresh.json"))).toBe(false);
  });

  it("prune forgets files that are gone or changed", async () => {
    const a = join(t.path, "a");
    const b = join(t.path, "b");
    writeFileSync(a, "a");
    writeFileSync(b, "b");
    const path = join(t.path, "prune.json");
    const c = await DigestCache.open(path);
    for (const f of [a, b]) {
      const st = statSync(f, { bigint: true });
      c.remember(f, st, D, later(st));
    }
    await c.save();
    writeFileSync(b, "B");
    expect(await (await DigestCache.open(path)).prune()).toBe(1);
    expect((await DigestCache.open(path)).lookup(a, statSync(a, { bigint: true }))).toBe(D);
  });
});

describe("a no-op build with the digest cache", () => {
  it("sees a change that keeps a file's size and mtime", async () => {
    const dir = join(t.path, "proj");
    mkdirSync(dir);
    const f = join(dir, "data.txt");
    writeFileSync(f, "one\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    writeFileSync(join(dir, "r.ts"), 'import { copy, defineRecipe } from "minic";\nexport default defineRecipe({ name: "d", steps: [copy("data.txt", "/data.txt")] });\n');
    const store = join(t.path, "store");
    await new Promise((r) => setTimeout(r, 2100)); // past the two seconds after data.txt's ctime
    const first = (await minicOk(["build", join(dir, "r.ts"), "--store", store])).stdout;
    expect(existsSync(join(store, "cache", "digests.json"))).toBe(true);
    expect((await minicOk(["build", join(dir, "r.ts"), "--store", store, "--explain"])).stderr).toMatch(/d: cache hit/);
    // Same size, same mtime, other bytes: only ctime tells.
    writeFileSync(f, "two\n");
    utimesSync(f, old, old);
    const r = await minicOk(["build", join(dir, "r.ts"), "--store", store, "--explain"]);
    expect(r.stderr).toMatch(/d: built layer/);
    expect(r.stdout).not.toBe(first);
  });
});
