// `minic load -` stopped by SIGINT or SIGTERM while its layer is decompressed says only that it
// was interrupted (exit 130/143) and stores nothing. QA: it first blamed the data ("lbzip2
// failed (SIGINT) ... the data is not valid bzip2", or "cannot read tar: Unexpected end of data").
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-load-int-");
afterAll(() => t.remove());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("an interrupted load", () => {
  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)("stopped by %s says so in one line and stores nothing", async (sig, status) => {
    const tree = join(t.path, `tree-${sig}`);
    mkdirSync(join(tree, "data"), { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(join(tree, "data", `r${i}`), randomBytes(2 << 20)); // incompressible: a long decompression
    const src = join(t.path, `src-${sig}`);
    await minicOk(["import", tree, "-t", "big:1", "--store", src]);
    const tarball = join(t.path, `big-${sig}.tar`);
    await minicOk(["save", "big:1", "-o", tarball, "--store", src]);
    const bytes = readFileSync(tarball);
    const store = join(t.path, `dst-${sig}`);
    const child = execa(LAUNCHER, ["load", "-", "--store", store], { reject: false, encoding: "utf8", stdin: "pipe", forceKillAfterDelay: false });
    try {
      child.stdin!.write(bytes.subarray(0, bytes.length >> 1)); // half: the load waits for the rest, mid-layer
      await sleep(1500);
      child.kill(sig);
      const r = await Promise.race([child, sleep(20_000).then(() => Promise.reject(new Error(`${sig} did not stop the load`)))]);
      expect(r.exitCode).toBe(status);
      expect(r.stderr.trim()).toBe(`minic: interrupted by ${sig}`);
      expect(readdirSync(join(store, "refs"))).toEqual([]);
      expect(readdirSync(join(store, "tmp"))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
