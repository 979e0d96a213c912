// Leases and gc announcements (store/lease.ts): what gc reads of a writer's lease, how a writer
// waits for a gc under way (and only for that one), and what a dead process's files count for.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../../src/core/digest.js";
import { announceGc, Lease, ownerAlive, readLeases, waitForGc } from "../../src/store/lease.js";
import { processStart } from "../../src/util/process-start.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
let dir: string;
beforeEach(() => {
  t = tempDir("minic-lease-");
  dir = join(t.path, "leases");
});
afterEach(() => t.remove());

/** A pid that no process has now (a child that has exited). */
function deadPid(): number {
  return Number(execFileSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).trim());
}

describe("leases", () => {
  it("gc reads what a live lease holds, as hex, each once", async () => {
    const a = sha256("a");
    const b = sha256("b");
    const lease = new Lease(dir);
    await lease.hold({ blobs: [a], layers: [b] });
    await lease.hold({ blobs: [a, b] });
    const r = readLeases(dir);
    expect([...r.blobs].sort()).toEqual([a.slice(7), b.slice(7)].sort());
    expect([...r.layers]).toEqual([b.slice(7)]);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it("a released lease holds nothing, and holding again makes a new one", async () => {
    const lease = new Lease(dir);
    await lease.hold({ blobs: [sha256("a")] });
    lease.release();
    expect(readdirSync(dir)).toEqual([]);
    expect(readLeases(dir).blobs.size).toBe(0);
    await lease.hold({ blobs: [sha256("a")] });
    expect([...readLeases(dir).blobs]).toEqual([sha256("a").slice(7)]);
    lease.release();
    lease.release();
  });

  it("a line being written (no newline yet) is not read, a dead process's lease is removed", () => {
    const self = `${process.pid}-${processStart(process.pid)}`;
    new Lease(dir); // makes nothing until something is held
    expect(existsSync(dir)).toBe(false);
    const end = announceGc(dir); // makes the dir
    end();
    writeFileSync(join(dir, `${self}-aaaaaaaaaaaa.lease`), `blob ${sha256("x")}\nblob ${sha256("y")}`);
    const dead = `${deadPid()}-1-bbbbbbbbbbbb.lease`;
    writeFileSync(join(dir, dead), `blob ${sha256("z")}\n`);
    writeFileSync(join(dir, "other-file"), "");
    const r = readLeases(dir);
    expect([...r.blobs]).toEqual([sha256("x").slice(7)]);
    expect(existsSync(join(dir, dead))).toBe(false);
    expect(existsSync(join(dir, "other-file"))).toBe(true); // not a lease: left alone
  });

  it("an owner is its pid and its start time: a reused pid owns nothing", () => {
    expect(ownerAlive(`${process.pid}-${processStart(process.pid)}-0123456789ab.lease`)).toBe(true);
    expect(ownerAlive(`${process.pid}-1-0123456789ab.lease`)).toBe(false);
    expect(ownerAlive(`${deadPid()}-1-0123456789ab.gc`)).toBe(false);
    expect(ownerAlive("junk.gc")).toBe(false);
    // Start time 0: made where /proc could not tell it; then the pid alone says.
    expect(ownerAlive(`${process.pid}-0-0123456789ab.lease`)).toBe(true);
    expect(ownerAlive(`${deadPid()}-0-0123456789ab.lease`)).toBe(false);
  });
});

describe("waiting for gc", () => {
  it("a hold waits for the gc under way to end, not for one that starts later", async () => {
    const end = announceGc(dir);
    let held = false;
    const hold = new Lease(dir).hold({ blobs: [sha256("a")] }).then(() => { held = true; });
    await new Promise((r) => setTimeout(r, 60));
    expect(held).toBe(false);
    const later = announceGc(dir); // sees the lease: nothing to wait for
    end();
    await hold;
    expect(held).toBe(true);
    later();
    expect(readdirSync(dir).filter((n) => n.endsWith(".gc"))).toEqual([]);
  });

  it("holding what a hold under way is adding waits for the same gc", async () => {
    const end = announceGc(dir);
    const lease = new Lease(dir);
    const done: string[] = [];
    const first = lease.hold({ blobs: [sha256("a")] }).then(() => done.push("first"));
    const again = lease.hold({ blobs: [sha256("a")] }).then(() => done.push("again"));
    await new Promise((r) => setTimeout(r, 60));
    expect(done).toEqual([]);
    end();
    await Promise.all([first, again]);
    expect(done.sort()).toEqual(["again", "first"]);
  });

  it("a dead gc's announcement keeps no one waiting", async () => {
    const end = announceGc(dir);
    const dead = `${deadPid()}-1-cccccccccccc.gc`;
    writeFileSync(join(dir, dead), "");
    end();
    const started = Date.now();
    await waitForGc(dir);
    expect(Date.now() - started).toBeLessThan(50);
    readLeases(dir); // gc removes it
    expect(existsSync(join(dir, dead))).toBe(false);
  });
});
