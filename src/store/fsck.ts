// Checks the store's own objects (refs, images, blobs, unpacked layers, temp files) and repairs
// what can be repaired without the data that is lost: entries of refs/ that are not references,
// blobs that do not match their name (removed: a build, load or pull writes them again),
// unpacked layers that no longer match their seal (removed: unpacked again when next used),
// strays and the temp files of dead processes. A damaged image cannot be repaired here: it is
// reported with what to do (build, load or pull it again). The build's records are checked by
// builder/check-records.ts; both are run by `minic fsck`.
import { createReadStream } from "node:fs";
import { lstat, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { digestHex, isDigest, type Digest } from "../core/digest.js";
import { messageLine } from "../core/errors.js";
import type { LayerDescriptor } from "../core/image.js";
import { formatRef } from "../core/reference.js";
import { tempName } from "./atomic.js";
import { discardUnpacked, verifyLayer } from "./layers.js";
import { OPAQUE_RECORD_SUFFIX } from "./opaque-record.js";
import { liveTempName, ownedTempName } from "./scratch.js";
import type { Store } from "./store.js";
import { SEAL_SUFFIX, unpackedProblem } from "./unpacked-seal.js";
import { hashWrite } from "./hash-write.js";

/** One thing found wrong. `fix` says what the user can do when it was not repaired. */
export interface FsckProblem {
  kind: "ref" | "image" | "blob" | "unpacked" | "record" | "temp" | "container";
  /** What is wrong, relative to the store (`blobs/sha256/<hex>`, `image hello:latest`). */
  what: string;
  problem: string;
  repaired: boolean;
  fix?: string;
}

export interface FsckReport {
  checked: { refs: number; images: number; blobs: number; unpacked: number; records: number };
  problems: FsckProblem[];
}

export interface FsckOptions {
  /** Repair what can be repaired (false: only report). */
  repair: boolean;
  /** Manifests of running containers: checked too, and their unpacked layers left alone. */
  inUse: ReadonlySet<Digest>;
}

/** Checks (and, with `repair`, repairs) the store's refs, images, blobs, unpacked layers and temp files. */
export async function fsckStore(store: Store, opts: FsckOptions): Promise<FsckReport> {
  const report: FsckReport = { checked: { refs: 0, images: 0, blobs: 0, unpacked: 0, records: 0 }, problems: [] };
  const problem = (p: Omit<FsckProblem, "repaired">, repaired: boolean) => report.problems.push({ ...p, repaired });

  // refs/: an entry that is not a reference names nothing; it goes.
  const { refs, bad } = await store.scanRefs();
  report.checked.refs = refs.length + bad.length;
  for (const b of bad) {
    if (opts.repair) {
      await rm(join(store.root, b.entry), { recursive: true, force: true });
      // refs/NAME goes with its last tag (rmdir fails while others remain); refs/ itself stays.
      if (b.entry.split("/").length === 3) await rmdir(join(store.root, b.entry, "..")).catch(() => {});
    }
    problem({ kind: "ref", what: b.entry, problem: `not a reference (${b.why})` }, opts.repair);
  }

  // Images: manifest, config and every layer (blob digest and diff id), each blob once.
  const names = new Map<Digest, string[]>();
  for (const r of refs) names.set(r.manifest, [...(names.get(r.manifest) ?? []), formatRef(r.ref)]);
  for (const m of opts.inUse) if (!names.has(m)) names.set(m, []);
  const inUseLayers = new Set<string>();
  /** Layer blob → why it failed (undefined: both its digest and its diff id checked out). */
  const checkedLayers = new Map<Digest, string | undefined>();
  const checkLayer = async (l: LayerDescriptor): Promise<string | undefined> => {
    if (!checkedLayers.has(l.digest)) checkedLayers.set(l.digest, await verifyLayer(store, l).then(() => undefined, (e: unknown) => messageLine(e)));
    return checkedLayers.get(l.digest);
  };
  for (const [manifest, named] of names) {
    report.checked.images++;
    // Every name goes with rmi (one ID would need -f when there are several); an unnamed image
    // is checked because a running container uses it, which has to be stopped.
    const what = named.length > 0 ? `image ${named.join(", ")}` : `image of a running container (${manifest.slice(0, 19)}…)`;
    const fix = named.length > 0
      ? `build, load or pull it again, or remove it with 'minic rmi ${named.join(" ")}'`
      : "stop the container that uses it ('minic ps', 'minic rm -f NAME'), then build, load or pull the image again";
    let img;
    try {
      img = await store.readImage(manifest);
    } catch (e) {
      problem({ kind: "image", what, problem: messageLine(e), fix }, false);
      continue;
    }
    if (opts.inUse.has(manifest)) for (const l of img.manifest.layers) inUseLayers.add(digestHex(l.diffId));
    const diffIds = img.config.rootfs.diffIds;
    if (diffIds.length !== img.manifest.layers.length || diffIds.some((d, i) => d !== img.manifest.layers[i]!.diffId)) {
      problem({ kind: "image", what, problem: "its config and manifest disagree about the layers", fix }, false);
    }
    for (const l of img.manifest.layers) {
      const why = await checkLayer(l);
      // The layer's own errors name it already ("layer sha256:… unpacks to …"); others get its name.
      const at = `layer ${l.digest.slice(0, 19)}…`;
      if (why) problem({ kind: "image", what, problem: why.startsWith(at) ? why : `${at}: ${why}`, fix }, false);
    }
  }

  // blobs/: every file holds what its name says; strays and damaged blobs go.
  for (const f of await readdir(store.layout.blobsDir).catch(() => [] as string[])) {
    const path = join(store.layout.blobsDir, f);
    report.checked.blobs++;
    const what = `blobs/sha256/${f}`;
    if (!/^[0-9a-f]{64}$/.test(f)) {
      if (liveTempName(f)) continue;
      if (opts.repair) await rm(path, { recursive: true, force: true });
      problem({ kind: "blob", what, problem: "not a blob (its name is not a sha256 digest)" }, opts.repair);
      continue;
    }
    const d = `sha256:${f}` as Digest;
    if (checkedLayers.has(d) && checkedLayers.get(d) === undefined) continue; // read whole as a layer already
    const st = await lstat(path).catch(() => null);
    if (!st) continue; // removed meanwhile
    const why = st.isFile() ? await hashProblem(path, d) : "not a file";
    if (why === undefined) continue;
    if (opts.repair) await removeIfUnchanged(store, path, st.ino);
    problem({ kind: "blob", what, problem: why.replace(/^blob sha256:[0-9a-f]{64} /, ""), fix: "build, load or pull the images that use it again" }, opts.repair);
  }

  // unpacked/: every layer directory matches its seal; records without their directory go.
  const entries = await readdir(store.layout.unpackedDir).catch(() => [] as string[]);
  const present = new Set(entries);
  for (const name of entries) {
    const path = join(store.layout.unpackedDir, name);
    const what = `unpacked/${name}`;
    if (liveTempName(name)) continue;
    const owner = [SEAL_SUFFIX, OPAQUE_RECORD_SUFFIX].find((s) => name.endsWith(s));
    if (owner) {
      const dir = name.slice(0, -owner.length);
      if (present.has(dir)) continue;
      if (opts.repair) await rm(path, { force: true });
      problem({ kind: "unpacked", what, problem: `a record of a layer directory that is not there` }, opts.repair);
      continue;
    }
    const hex = name.endsWith(".aufs") ? name.slice(0, -5) : name;
    if (!/^[0-9a-f]{64}$/.test(hex) || !(await stat(path).catch(() => null))?.isDirectory()) {
      if (opts.repair) await rm(path, { recursive: true, force: true });
      problem({ kind: "unpacked", what, problem: "not an unpacked layer" }, opts.repair);
      continue;
    }
    report.checked.unpacked++;
    const why = unpackedProblem(path);
    if (why === undefined) continue;
    if (inUseLayers.has(hex)) {
      problem({ kind: "unpacked", what, problem: `${why} (in use by a running container: left alone)`, fix: "stop the container and run 'minic fsck' again" }, false);
      continue;
    }
    if (opts.repair) {
      await discardUnpacked(store, path);
      for (const s of [SEAL_SUFFIX, OPAQUE_RECORD_SUFFIX]) await rm(path + s, { force: true });
    }
    problem({ kind: "unpacked", what, problem: `${why}; it is unpacked again when next used` }, opts.repair);
  }

  // tmp/: what dead processes left.
  for (const name of await readdir(store.layout.tmpDir).catch(() => [] as string[])) {
    if (!ownedTempName(name) || liveTempName(name)) continue;
    if (opts.repair) await rm(join(store.layout.tmpDir, name), { recursive: true, force: true });
    problem({ kind: "temp", what: `tmp/${name}`, problem: "left by a process that is gone" }, opts.repair);
  }
  return report;
}

/** Why the file at `path` does not hold blob `d`, or undefined when it does. */
async function hashProblem(path: string, d: Digest): Promise<string | undefined> {
  if (!isDigest(d)) return "not a blob";
  try {
    await hashWrite(createReadStream(path), null, d);
    return undefined;
  } catch (e) {
    return messageLine(e).replace(/^blob does not match its digest/, "does not match its name");
  }
}

/**
 * Removes a damaged blob, unless a writer has put a good copy in its place meanwhile (a blob is
 * written to a temp file and renamed over): moved aside first, and moved back when it is
 * another inode than the one found damaged.
 */
async function removeIfUnchanged(store: Store, path: string, ino: number): Promise<void> {
  const aside = tempName(store.layout.tmpDir, "fsck");
  try {
    await rename(path, aside);
  } catch {
    return; // gone already
  }
  if ((await lstat(aside)).ino !== ino) await rename(aside, path);
  else await rm(aside, { force: true });
}
