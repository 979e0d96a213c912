// minic gc: free what no image references and no running container uses, and the build's
// cache records that can no longer be used.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pruneTagRecords } from "../builder/base-tags.js";
import { listCacheMounts, removeCacheMounts } from "../builder/cache-mounts.js";
import { pruneRecipeCache } from "../builder/compile-recipe.js";
import { DIGEST_CACHE, DigestCache } from "../builder/digest-cache.js";
import { pruneGlobCache } from "../builder/glob-cache.js";
import { pruneTypecheckCache } from "../builder/typecheck.js";
import type { Command } from "./command.js";
import type { Digest } from "../core/digest.js";
import { gc } from "../store/gc.js";
import { VerifiedBlobs } from "../store/verified-blobs.js";
import { liveContainers } from "../runtime/state.js";
import { humanSize } from "../core/size-text.js";
import { reportDamage } from "./images.js";
import { sweep } from "./sweep.js";

export const gcCommand: Command = {
  name: "gc",
  noArgs: true,
  summary: "remove blobs, unpacked layers and cache records that no image references and no running container uses",
  usage: "[--cache-mounts] [--json]",
  options: { json: { type: "boolean" }, "cache-mounts": { type: "boolean" } },
  async run(values, _positionals, ctx) {
    const store = await ctx.store({ create: false });
    // No store there (yet, or a mistyped --store): nothing to collect, and none is made.
    if (!existsSync(store.layout.blobsDir)) {
      if (values.json) ctx.out(JSON.stringify({ blobs: 0, unpacked: 0, cacheRecords: 0, bytes: 0, damaged: [], cacheMounts: { removed: 0, removedBytes: 0, kept: [] } }));
      else ctx.out(`no store at ${store.root}: nothing to collect`);
      return 0;
    }
    // Stale containers and build steps (their minic killed) are released first, as ps, prune,
    // run and build do: their processes may still run on the layers gc is about to remove.
    await sweep(store, ctx);
    // The images of running containers (even those without a name any more, after 'rmi -f')
    // stay with their blobs and unpacked layers.
    // Read once gc has announced itself (see store/lease.ts): a container starting later waits.
    const r = await gc(store, () => ({ manifests: new Set(liveContainers(store.layout.containersDir).map((s) => s.manifestDigest as Digest)) }));
    // Compiled recipes, type-check, glob and file digest records whose sources or trees have
    // changed since, and records of names build set that now hold another image.
    const cache = store.layout.cacheDir;
    r.cacheRecords += (await pruneRecipeCache(join(cache, "recipes"))) + (await pruneTypecheckCache(cache)) + (await pruneGlobCache(join(cache, "globs")))
      + (await (await DigestCache.open(join(cache, DIGEST_CACHE))).prune()) + (await pruneTagRecords(store));
    // What was known of blobs gc removed (not counted: a memo of the store's own blobs, not a record).
    await (await VerifiedBlobs.open(store)).prune();
    // Run steps' cache mounts are kept unless asked: they are what makes the next build fast.
    const removed = values["cache-mounts"] ? await removeCacheMounts(store) : [];
    const kept = listCacheMounts(store.layout.cacheMountsDir);
    const sum = (ms: typeof kept) => ms.reduce((n, m) => n + m.bytes, 0);
    const cacheMounts = { removed: removed.length, removedBytes: sum(removed), kept: kept.map(({ recipe, path, bytes }) => ({ recipe, path, bytes })) };
    if (values.json) ctx.out(JSON.stringify({ ...r, cacheMounts }));
    else {
      ctx.out(`removed ${r.blobs} blob(s) (${humanSize(r.bytes)}), ${r.unpacked} unpacked layer(s), ${r.cacheRecords} cache record(s)${removed.length > 0 ? `, ${removed.length} cache mount(s) (${humanSize(sum(removed))})` : ""}`);
      if (kept.length > 0) ctx.out(`kept ${kept.length} cache mount(s) of run steps (${humanSize(sum(kept))}); 'minic gc --cache-mounts' removes them`);
    }
    return reportDamage(ctx, r.damaged);
  },
};
