// Applies canonical steps on top of the base layers in a scratch upper dir, then packs the
// upper dir into a layer. The only part of a build that touches the disk for real.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { CanonicalStep } from "../core/recipe-canonical.js";
import type { LayerDescriptor } from "../core/image.js";
import { MinicError, withContext } from "../core/errors.js";
import { walkTree, treeData } from "../archive/walk-tree.js";
import { putLayer } from "../store/layers.js";
import { unpackedLayer } from "../store/layers.js";
import type { Store } from "../store/store.js";
import { makeScratch, sweepScratch } from "../store/scratch.js";
import type { Progress } from "../util/progress.js";
import type { CopyInput } from "./copy-inputs.js";
import { RootfsView, type NodeMeta } from "../rootfs/rootfs-view.js";
import { runStep } from "./run-step.js";

export interface MaterializeInput {
  name: string;
  baseLayers: readonly LayerDescriptor[];
  steps: readonly CanonicalStep[];
  inputs: ReadonlyMap<number, readonly CopyInput[]>;
  epoch: number;
}

/** Builds the layer for `steps` over `baseLayers`; the scratch space is removed whatever happens. */
export async function materialize(store: Store, job: MaterializeInput, progress: Progress): Promise<LayerDescriptor> {
  await sweepScratch(store);
  const scratch = await makeScratch(store);
  try {
    const upper = join(scratch, "upper");
    await mkdir(upper, { mode: 0o755 });
    const base: string[] = [];
    for (const l of job.baseLayers) base.push(await unpackedLayer(store, l, undefined, undefined, (line) => progress.log(line)));
    const view = await RootfsView.open(upper, [...base].reverse());
    for (let i = 0; i < job.steps.length; i++) {
      const s = job.steps[i]!;
      const where = `recipe '${job.name}' step ${i + 1}`;
      switch (s.kind) {
        case "dir":
          await view.putDir(view.resolve(s.path, true), s);
          break;
        case "file":
          await view.putFile(view.resolve(s.path), Buffer.from(s.base64, "base64"), s);
          break;
        case "symlink":
          await view.putSymlink(view.resolve(s.path), s.target);
          break;
        case "copy": {
          // New directories (empty ones of the source too) get the step's owner and 0755;
          // directories the image already has keep theirs.
          const dirMeta = { mode: 0o755, uid: s.uid, gid: s.gid };
          const to = view.resolve(s.to, true);
          await view.ensureDir(to, dirMeta);
          // Where each file landed, by input rel, and what it held: its hard links link to it.
          const landed = new Map<string, { rel: string; digest: string }>();
          for (const input of job.inputs.get(i) ?? []) {
            if (input.kind === "dir") {
              await view.ensureDir(view.resolve(`/${to}/${input.rel}`, true), dirMeta);
              continue;
            }
            const rel = view.resolve(`/${to}/${input.rel}`);
            const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
            await view.ensureDir(parent, dirMeta);
            if (input.kind === "symlink") {
              await view.putSymlink(rel, input.linkname!, s.uid, s.gid);
              continue;
            }
            // A link shares its first name's inode (so its mode and owner). Its content is what
            // the cache key holds for it only if both names hashed the same; else it is copied
            // (and checked) on its own.
            const first = input.linkOf === undefined ? undefined : landed.get(input.linkOf);
            if (first && first.digest === input.digest && (await view.putHardLink(rel, first.rel))) continue;
            await copyInputFile(view, rel, input, { mode: s.mode ?? (input.executable ? 0o755 : 0o644), uid: s.uid, gid: s.gid }, where);
            landed.set(input.rel, { rel, digest: input.digest });
          }
          break;
        }
        case "remove":
          await view.remove(view.resolve(s.path));
          break;
        case "run":
          if (!view.visible("usr")?.st.isDirectory()) {
            throw new MinicError("ERUN", `${where}: run steps need a /usr directory in the image (systemd-nspawn refuses a tree without one)`, {
              hint: "add dir(\"/usr\") and file(\"/etc/os-release\", …) before the step, or build on a base such as recipes/busybox.ts",
            });
          }
          progress.log(`$ ${s.argv.join(" ")}`);
          await runStep(s, { scratch, upper, lowers: base }, where, (l) => progress.log(l));
          await view.refreshUpper();
          break;
      }
    }
    const tree = await walkTree(upper, { overlay: true });
    return await putLayer(store, tree.map((t) => ({ entry: t.entry, data: treeData(t) })), job.epoch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Streams one host file into the layer and checks that what was copied is what the cache key
 * was computed from; a file changed since it was hashed fails the build (EINPUT).
 */
export async function copyInputFile(view: RootfsView, rel: string, input: CopyInput, meta: NodeMeta, where: string): Promise<void> {
  const got = await view.putFileFrom(rel, input.hostPath, meta).catch((e: unknown) => {
    throw withContext(e, `${where}: copy source`);
  });
  if (got.digest !== input.digest) throw new StaleInputError(where, input.hostPath);
}

/**
 * A copied file did not hold what the cache key was computed from: it changed during the build,
 * or the digest remembered for it was wrong. The build hashes its inputs again once.
 */
export class StaleInputError extends MinicError {
  constructor(where: string, readonly hostPath: string) {
    super("EINPUT", `${where}: copy source '${hostPath}' changed during the build (its content no longer matches the digest in the cache key)`, {
      hint: "do not modify copied files while minic builds; run it again",
    });
  }
}
