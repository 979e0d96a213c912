// Shared fixtures for the runtime tests: a store with a busybox image, stacked images built
// from in-memory layers, a host-wide lock so that runtime test files do not overlap, and a
// check that nothing minic creates on the host (cgroups, netns, veths, mounts) is left.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { minic, minicOk, tempDir, type CliResult } from "../helpers/cli.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";
import { Store } from "../../src/store/store.js";
import { putLayer, type LayerItem } from "../../src/store/layers.js";
import { putImage } from "../../src/store/images.js";
import { walkTree } from "../../src/archive/walk-tree.js";
import { defaultRunConfig, type RunConfig } from "../../src/core/image.js";
import type { Entry } from "../../src/archive/entry.js";
import { parseRef } from "../../src/core/reference.js";

export const CONTAINER_RE = /^minic-[0-9a-f]{12}$/;

/** A temp dir with a store holding `bb` (a busybox tree imported as one layer). */
export async function busyboxStore(): Promise<{ root: string; store: string; tree: string; remove(): void }> {
  const t = tempDir("minic-rt-");
  const tree = join(t.path, "tree");
  mkdirSync(tree);
  makeBusyboxTree(tree);
  const store = join(t.path, "store");
  await minicOk(["import", tree, "-t", "bb", "--store", store]);
  return { root: t.path, store, tree, remove: t.remove };
}

/** A layer described in memory: files (with content, 0755; or with a mode and owner), dirs, symlinks, whiteouts (`.wh.NAME`). */
export type LayerSpec = Record<string, string | { data: string; mode: number; uid?: number; gid?: number } | { dir: true } | { symlink: string } | { whiteout: true } | { opaque: true }>;

function itemsOf(spec: LayerSpec): LayerItem[] {
  const items: LayerItem[] = [];
  for (const [name, v] of Object.entries(spec)) {
    const base: Omit<Entry, "kind" | "size"> = { name, mode: 0o644, uid: 0, gid: 0, mtime: 0 };
    if (typeof v === "string") items.push({ entry: { ...base, kind: "file", mode: 0o755, size: Buffer.byteLength(v) }, data: Buffer.from(v) });
    else if ("data" in v) items.push({ entry: { ...base, kind: "file", mode: v.mode, uid: v.uid ?? 0, gid: v.gid ?? 0, size: Buffer.byteLength(v.data) }, data: Buffer.from(v.data) });
    else if ("dir" in v) items.push({ entry: { ...base, kind: "dir", mode: 0o755, size: 0 } });
    else if ("symlink" in v) items.push({ entry: { ...base, kind: "symlink", mode: 0o777, size: 0, linkname: v.symlink } });
    else if ("whiteout" in v) {
      const i = name.lastIndexOf("/");
      items.push({ entry: { ...base, name: `${name.slice(0, i + 1)}.wh.${name.slice(i + 1)}`, kind: "file", mode: 0o644, size: 0 }, data: Buffer.alloc(0) });
    } else items.push({ entry: { ...base, name: `${name}/.wh..wh..opq`, kind: "file", mode: 0o644, size: 0 }, data: Buffer.alloc(0) });
  }
  return items;
}

/** Stores an image `name`: the busybox tree as base, then one layer per spec; returns the manifest digest. */
export async function stackedImage(storeRoot: string, tree: string, name: string, layers: LayerSpec[], config: Partial<RunConfig> = {}): Promise<string> {
  const store = await Store.open(storeRoot);
  const base = await walkTree(tree);
  const descs = [await putLayer(store, base.map((t) => ({ entry: t.entry, data: t.hostPath })), 0)];
  for (const l of layers) descs.push(await putLayer(store, itemsOf(l), 0));
  const digest = await putImage(store, descs, { ...defaultRunConfig(), ...config }, descs.map(() => ({ createdBy: "test" })), 0);
  await store.setRef(parseRef(name), digest);
  store.release(); // named now: what this test process wrote is the store's, gc frees it once unnamed
  return digest;
}

/** What minic may have left on the host: its cgroups, netns, veths/bridge, and mounts of its containers. */
export function hostLeaks(): string[] {
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const d = `/sys/fs/cgroup/${h}`;
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) if (CONTAINER_RE.test(n)) out.push(`cgroup ${d}/${n}`);
  }
  if (existsSync("/run/netns")) for (const n of readdirSync("/run/netns")) if (CONTAINER_RE.test(n)) out.push(`netns ${n}`);
  for (const n of readdirSync("/sys/class/net")) if (/^mc(v|b)\d+$|^mcbr0$/.test(n)) out.push(`link ${n}`);
  for (const l of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
    const [src, mp] = l.split(" ");
    if (src && CONTAINER_RE.test(src)) out.push(`mount ${src} on ${mp}`);
    if (mp && /\/containers\/[0-9a-f]{12}\//.test(mp)) out.push(`mount on ${mp}`);
  }
  return out;
}

/** The containers left in a store. */
export function storeContainers(storeRoot: string): string[] {
  try {
    return readdirSync(join(storeRoot, "containers")).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
}

const LOCK = "/tmp/minic-runtime-tests.lock";

/**
 * Takes the host-wide lock of the runtime integration tests (they create host objects and check
 * afterwards that none is left, which needs no other runtime test running). Returns the release.
 */
export async function lockHost(): Promise<() => void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(`${LOCK}/pid`, String(process.pid));
      return () => {
        try {
          execFileSync("rm", ["-rf", LOCK]);
        } catch {
          /* ignore */
        }
      };
    } catch {
      // A holder that died (killed test run) does not keep the lock.
      let pid = 0;
      try {
        pid = Number(readFileSync(`${LOCK}/pid`, "utf8"));
      } catch {
        /* being created */
      }
      if (pid > 0 && !existsSync(`/proc/${pid}`)) {
        try {
          execFileSync("rm", ["-rf", LOCK]);
        } catch {
          /* raced */
        }
        continue;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Runs `f` holding the host lock: for a test outside the runtime project that starts a
 * container, which the runtime suites' leak checks (running meanwhile) would otherwise see.
 */
export async function withHostLock<T>(f: () => Promise<T>): Promise<T> {
  const unlock = await lockHost();
  try {
    return await f();
  } finally {
    unlock();
  }
}

/** Removes an empty dir, ignoring errors. */
export function rmdirQuiet(d: string): void {
  try {
    rmdirSync(d);
  } catch {
    /* ignore */
  }
}

/** A runtime suite's busybox store, filled in by its beforeAll. */
export type Fixture = Awaited<ReturnType<typeof busyboxStore>>;

/**
 * Registers the hooks every runtime suite needs: take the host lock, make a busybox store and
 * let `images` add images to it; after each test nothing may be left on the host or in the
 * store's containers. Returns the fixture (filled in by beforeAll) and `run(args, env)`.
 */
export function runtimeSuite(images: (fx: Fixture) => Promise<void>): { fx: Fixture; run: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliResult> } {
  const fx = {} as Fixture;
  let unlock: (() => void) | undefined;
  beforeAll(async () => {
    unlock = await lockHost();
    Object.assign(fx, await busyboxStore());
    await images(fx);
  }, 600_000);
  afterAll(() => {
    fx.remove?.();
    unlock?.();
  });
  afterEach(() => {
    expect(hostLeaks()).toEqual([]);
    expect(storeContainers(fx.store)).toEqual([]);
  });
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => minic(["run", "--store", fx.store, ...args], { env: { ...process.env, ...env } });
  return { fx, run };
}
