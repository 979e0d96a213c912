// Pure: where each kind of object lives under a store root.
import { join } from "node:path";
import { digestHex, type Digest } from "../core/digest.js";
import type { ImageRef } from "../core/reference.js";

/** Paths of a store rooted at `root`. */
export class StoreLayout {
  constructor(readonly root: string) {}
  get blobsDir(): string { return join(this.root, "blobs", "sha256"); }
  get refsDir(): string { return join(this.root, "refs"); }
  get cacheDir(): string { return join(this.root, "cache"); }
  get unpackedDir(): string { return join(this.root, "unpacked"); }
  get containersDir(): string { return join(this.root, "containers"); }
  get tmpDir(): string { return join(this.root, "tmp"); }
  get leasesDir(): string { return join(this.root, "leases"); }
  /** Run steps' cache mounts (see builder/cache-mounts.ts). */
  get cacheMountsDir(): string { return join(this.root, "cache-mounts"); }
  blob(d: Digest): string { return join(this.blobsDir, digestHex(d)); }
  ref(r: ImageRef): string { return join(this.refsDir, encodeURIComponent(r.name), r.tag); }
  cacheEntry(key: Digest): string { return join(this.cacheDir, `${digestHex(key)}.json`); }
  unpacked(diffId: Digest): string { return join(this.unpackedDir, digestHex(diffId)); }
  container(id: string): string { return join(this.containersDir, id); }
}
