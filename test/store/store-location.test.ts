// The store rule: --store, MINIC_STORE, the checkout's layers/, then one store per machine
// (root: /var/lib/minic; others: $XDG_DATA_HOME/minic), never the working directory.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { minicOk, ROOT } from "../helpers/cli.js";
import { chooseStore, MACHINE_STORE } from "../../src/store/store-location.js";

const base = { cwd: "/home/u/proj", uid: 0, home: "/root" };

describe("chooseStore", () => {
  it("takes --store, then MINIC_STORE, relative to the working directory", () => {
    expect(chooseStore({ ...base, flag: "s", env: "/e" })).toMatchObject({ root: "/home/u/proj/s", source: "flag" });
    expect(chooseStore({ ...base, env: "../e", checkout: "/src/minic" })).toMatchObject({ root: "/home/u/e", source: "env" });
  });
  it("uses the checkout's layers/ when minic runs from its checkout, from any directory", () => {
    for (const cwd of ["/", "/tmp", "/src/minic/recipes"]) expect(chooseStore({ ...base, cwd, checkout: "/src/minic" })).toMatchObject({ root: "/src/minic/layers", source: "checkout" });
  });
  it("an installed minic uses one store per machine for root, whatever the directory", () => {
    for (const cwd of ["/", "/tmp", "/home/u/proj"]) expect(chooseStore({ ...base, cwd })).toEqual({ root: MACHINE_STORE, source: "machine", why: expect.any(String) });
    expect(MACHINE_STORE).toBe("/var/lib/minic");
  });
  it("other users get theirs under XDG_DATA_HOME (absolute only) or ~/.local/share", () => {
    expect(chooseStore({ ...base, uid: 1000, home: "/home/u" })).toMatchObject({ root: "/home/u/.local/share/minic", source: "user" });
    expect(chooseStore({ ...base, uid: 1000, home: "/home/u", xdgDataHome: "/data" })).toMatchObject({ root: "/data/minic" });
    expect(chooseStore({ ...base, uid: 1000, home: "/home/u", xdgDataHome: "rel" })).toMatchObject({ root: "/home/u/.local/share/minic" });
  });
});

describe("minic info", () => {
  it("names the same store from any directory, and why; MINIC_STORE and --store win", async () => {
    const env = { ...process.env, MINIC_STORE: "" };
    const at = async (cwd: string, args: string[] = [], e: NodeJS.ProcessEnv = env) => JSON.parse((await minicOk(["info", "--json", ...args], { cwd, env: e })).stdout) as { store: { root: string; source: string; why: string } };
    for (const cwd of ["/", "/tmp", join(ROOT, "recipes")]) expect((await at(cwd)).store).toMatchObject({ root: join(ROOT, "layers"), source: "checkout" });
    expect((await at("/tmp", [], { ...env, MINIC_STORE: "s" })).store).toMatchObject({ root: "/tmp/s", source: "env", why: "from MINIC_STORE" });
    expect((await at("/tmp", ["--store", "/x/y"], { ...env, MINIC_STORE: "s" })).store).toMatchObject({ root: "/x/y", source: "flag" });
    const text = (await minicOk(["info"], { cwd: "/tmp", env })).stdout;
    expect(text).toMatch(/^minic \d+\.\d+\.\d+, running from its checkout at /m);
    expect(text).toContain(`store: ${join(ROOT, "layers")} (this minic runs from its checkout, which keeps its store in layers/)`);
  });
});
