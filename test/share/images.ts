// Builds stacked images directly in a store (no recipes): a busybox base, then app layers on it.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Entry } from "../../src/archive/entry.js";
import { walkTree, whiteoutEntry } from "../../src/archive/walk-tree.js";
import { defaultRunConfig, type LayerDescriptor } from "../../src/core/image.js";
import type { Digest } from "../../src/core/digest.js";
import { parseRef } from "../../src/core/reference.js";
import { putImage } from "../../src/store/images.js";
import { putLayer, type LayerItem } from "../../src/store/layers.js";
import { Store } from "../../src/store/store.js";
import { makeBusyboxTree } from "../helpers/busybox-tree.js";

const EPOCH = 1_700_000_000;
const dir = (name: string): Entry => ({ name, kind: "dir", mode: 0o755, uid: 0, gid: 0, mtime: EPOCH, size: 0 });
const file = (name: string, text: string, mode = 0o644): LayerItem => ({ entry: { name, kind: "file", mode, uid: 0, gid: 0, mtime: EPOCH, size: Buffer.byteLength(text) }, data: Buffer.from(text) });

/** The busybox base layer (tree made under `work`). */
export async function baseLayer(store: Store, work: string): Promise<LayerDescriptor> {
  const tree = join(work, "busybox-tree");
  mkdirSync(tree, { recursive: true });
  makeBusyboxTree(tree);
  return putLayer(store, (await walkTree(tree)).map((t) => ({ entry: t.entry, data: t.hostPath })), EPOCH);
}

/**
 * An app layer: /srv/www/index.html with `text`, a hard-linked copy, and a whiteout deleting
 * /etc/os-release from the base.
 */
export async function appLayer(store: Store, text: string): Promise<LayerDescriptor> {
  const page = file("srv/www/index.html", text);
  const copy: LayerItem = { entry: { ...page.entry, name: "srv/www/copy.html", linkKey: "k" }, data: page.data };
  page.entry.linkKey = "k";
  return putLayer(store, [{ entry: dir("srv") }, { entry: dir("srv/www") }, page, copy, { entry: whiteoutEntry("etc/.wh.os-release", EPOCH) }], EPOCH);
}

/** Stores an image of `layers` under `ref` running `cmd`; returns its manifest digest. */
export async function stackImage(store: Store, ref: string, layers: LayerDescriptor[], cmd = ["/bin/cat", "/srv/www/index.html"]): Promise<Digest> {
  const run = { ...defaultRunConfig(), cmd, hostname: "app", limits: { memoryBytes: 64 << 20 }, labels: { "org.example.app": ref } };
  const d = await putImage(store, layers, run, layers.map((_, i) => ({ createdBy: i === 0 ? "import" : "app" })), EPOCH);
  await store.setRef(parseRef(ref), d);
  return d;
}

/** Opens a store and builds `app` = busybox + app layer in it. */
export async function storeWithApp(root: string, work: string, text = "hello from minic\n"): Promise<{ store: Store; digest: Digest }> {
  const store = await Store.open(root);
  const base = await baseLayer(store, work);
  const digest = await stackImage(store, "app:1", [base, await appLayer(store, text)]);
  return { store, digest };
}
