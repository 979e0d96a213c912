// Applies canonical steps on top of the base layers in a scratch upper dir, then packs the
// upper dir into a layer. The only part of a build that touches the disk for real.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describeStep, type CanonicalCopyFrom, type CanonicalStep, type RunUses } from "../core/recipe-canonical.js";
import type { RunControl } from "../core/run-control.js";
import type { Digest } from "../core/digest.js";
import type { LayerDescriptor } from "../core/image.js";
import { MinicError, withContext } from "../core/errors.js";
import { WHITEOUT_PREFIX } from "../archive/entry.js";
import { walkTree, treeData } from "../archive/walk-tree.js";
import { putLayerUnpacked } from "../store/layers.js";
import { overlayTarget, unpackedLayers } from "../store/layers.js";
import { ensureOpaqueRecord } from "../store/opaque-record.js";
import type { Store } from "../store/store.js";
import { makeScratch, sweepScratch } from "../store/scratch.js";
import type { Progress } from "../util/progress.js";
import type { CopyInput } from "./copy-inputs.js";
import { RootfsView, type NodeMeta } from "../rootfs/rootfs-view.js";
import { stageNodes } from "../rootfs/stage-tree.js";
import type { SecurityProfile } from "../runtime/security-profile.js";
import { commandCandidates } from "../core/command-path.js";
import { findCommand } from "../rootfs/find-command.js";
import { resolveBindTarget } from "../runtime/bind-targets.js";
import { cacheMountBinds } from "./cache-mounts.js";
import { noteMountStubs, removeMountStubs } from "./mount-stubs.js";
import { runStep } from "./run-step.js";
import { copyXattrs } from "./copy-xattrs.js";
import { StaleInputError } from "./stale-input.js";
import { setXattrs } from "../archive/xattr-io.js";
import { splitXattrs, type XattrRow } from "../core/xattrs.js";
import { hostNetworkBinds } from "./step-network.js";
import { secretBinds, secretRedactor } from "./step-secrets.js";

export interface MaterializeInput {
  name: string;
  baseLayers: readonly LayerDescriptor[];
  steps: readonly CanonicalStep[];
  inputs: ReadonlyMap<number, readonly CopyInput[]>;
  /** Limits and timeout of each run step, by step index. */
  controls: ReadonlyMap<number, RunControl>;
  /** What each run step uses (its network, the build's --network applied), by step index. */
  uses: ReadonlyMap<number, RunUses>;
  /** The build's secrets: id → host file (a step gets those its uses name). */
  secrets: ReadonlyMap<string, string>;
  /** The layers of the stage each copy from a stage reads (base first), by step index. */
  stages: ReadonlyMap<number, readonly LayerDescriptor[]>;
  /** The base image (for the run steps' records; name "" for scratch). */
  base: { name: string; manifestDigest: string };
  epoch: number;
  /** The clock (ISO time), read when a run step starts. */
  now: () => string;
  /** What run steps may do (minic build --privileged, --cap-add, --cap-drop). */
  security: SecurityProfile;
}

/** Builds the layer for `steps` over `baseLayers`; the scratch space is removed whatever happens. */
export async function materialize(store: Store, job: MaterializeInput, progress: Progress): Promise<LayerDescriptor> {
  await sweepScratch(store);
  const scratch = await makeScratch(store);
  try {
    const upper = join(scratch, "upper");
    await mkdir(upper, { mode: 0o755 });
    const base = await unpackedLayers(store, job.baseLayers, (l) => overlayTarget(store, l), (line) => progress.log(line));
    // The base layers' opaque dirs from the store's records (the upper dir is new: none), not a
    // getfattr -R over each layer (~0.15 s for a Debian base, every build).
    const lowers = [...base].reverse();
    const view = await RootfsView.open(upper, lowers, { opaque: [new Set<string>(), ...(await Promise.all(lowers.map(ensureOpaqueRecord)))] });
    const stageViews = new Map<string, Promise<RootfsView>>();
    for (let i = 0; i < job.steps.length; i++) {
      const s = job.steps[i]!;
      const where = `recipe '${job.name}' step ${i + 1}`;
      try {
        await applyStep(view, s, where, { store, job, index: i, inputs: job.inputs.get(i) ?? [], scratch, upper, base, progress, stageViews });
      } catch (e) {
        // Errors of the image's tree (a file in the way, a link loop) say which step met them.
        if (e instanceof MinicError && !e.message.startsWith(where)) throw withContext(e, `${where} (${describeStep(s)})`);
        throw e;
      }
    }
    const walked = await walkTree(upper, { overlay: true });
    const dropped = walked.filter((t) => t.droppedXattrs?.length).length;
    if (dropped > 0) progress.log(`minic: recipe '${job.name}': left out extended attributes of ${dropped} file(s) that minic layers do not carry (kept: security.capability and user.*)`);
    // A socket a run step left (gpg-agent's in /root/.gnupg, say): no archive can carry one.
    const tree = walked.filter((t) => t.entry.kind !== "socket");
    if (tree.length < walked.length) progress.log(`minic: recipe '${job.name}': left out ${walked.length - tree.length} socket(s) its steps left (no layer carries one, as podman's do not)`);
    // The walk's own whiteouts and opaque markers are files with no host path; anything else so named is the step's.
    const named = tree.find((t) => (t.hostPath !== undefined || t.entry.kind !== "file") && t.entry.name.slice(t.entry.name.lastIndexOf("/") + 1).startsWith(WHITEOUT_PREFIX));
    if (named) {
      throw new MinicError("ERECIPE", `recipe '${job.name}': its steps made /${named.entry.name}, and a name starting with '${WHITEOUT_PREFIX}' is how a layer says a file is deleted`, { hint: "name the file otherwise, or remove it in the step that makes it" });
    }
    return await putLayerUnpacked(store, tree.map((t) => ({ entry: t.entry, data: treeData(t) })), job.epoch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** What applying a step needs besides the view: the build, the copy inputs, the scratch dirs, progress. */
interface StepContext {
  store: Store;
  job: MaterializeInput;
  /** 0-based index of the step in its recipe. */
  index: number;
  inputs: readonly CopyInput[];
  scratch: string;
  upper: string;
  base: readonly string[];
  progress: Progress;
  /** The stages' views opened so far, by their layers' diff ids (steps copying from one stage share one). */
  stageViews: Map<string, Promise<RootfsView>>;
}

/** Applies one canonical step to the build's view (a run step runs under nspawn over it). */
async function applyStep(view: RootfsView, s: CanonicalStep, where: string, { store, job, index, inputs, scratch, upper, base, progress, stageViews }: StepContext): Promise<void> {
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
      const copied: { rel: string; hostPath: string; xattrs?: Digest }[] = [];
      for (const input of inputs) {
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
        copied.push({ rel, hostPath: input.hostPath, ...(input.xattrs === undefined ? {} : { xattrs: input.xattrs }) });
      }
      const dropped = await copyXattrs(upper, copied, where);
      if (dropped > 0) progress.log(`minic: ${where}: left out extended attributes of ${dropped} copied file(s) that minic layers do not carry (kept: security.capability and user.*)`);
      break;
    }
    case "copy-from": {
      const id = s.layers.join(",");
      let stage = stageViews.get(id);
      if (!stage) {
        stage = stageView(store, job.stages.get(index) ?? [], join(scratch, `stage-${index + 1}`), progress);
        stageViews.set(id, stage);
      }
      const dropped = await copyFromStage(view, s, where, await stage);
      if (dropped > 0) progress.log(`minic: ${where}: left out extended attributes of ${dropped} file(s) copied from stage '${s.stage}' that minic layers do not carry (kept: security.capability and user.*)`);
      break;
    }
    case "remove":
      await view.remove(view.resolve(s.path));
      break;
    case "run": {
      if (!view.visible("usr")?.st.isDirectory()) {
        throw new MinicError("ERUN", `${where}: run steps need a /usr directory in the image (systemd-nspawn refuses a tree without one)`, {
          hint: "add dir(\"/usr\") and file(\"/etc/os-release\", …) before the step, or build on a base such as recipes/busybox.ts",
        });
      }
      // nspawn would fail with its own message (and status 1) before running anything.
      const wd = view.visible(view.resolve(s.workdir, true));
      if (!wd?.st.isDirectory()) {
        throw new MinicError("ERUN", `${where}: run workdir ${s.workdir} ${wd ? "is not a directory" : "does not exist"} in the image`, { hint: `make it in an earlier step: dir("${s.workdir}")` });
      }
      const cmd = s.argv[0]!;
      const found = findCommand(view, commandCandidates(cmd, s.env, s.workdir));
      if (found !== "found") {
        throw new MinicError("ERUN", `${where}: command '${cmd}' ${found === "missing" ? "is not in" : "is not an executable file in"} the image`, {
          hint: "copy or install it in an earlier step (or in the base), or give its path in the image",
        });
      }
      const { network, secrets } = job.uses.get(index) ?? { network: "none", secrets: [] };
      // Bound over the image's paths (resolved inside it): the cache mounts, the host network's
      // resolv.conf and hosts, the step's secrets. The mount points nspawn has to make for them
      // are taken out of the upper dir again after the step.
      const wanted = [
        ...(await cacheMountBinds(store, job.name, s.cache ?? [])),
        ...(network === "host" ? await hostNetworkBinds(join(scratch, `net-${index + 1}`)) : []),
        ...secretBinds(secrets, job.secrets),
      ];
      const binds = wanted.map((b) => resolveBindTarget(view, b));
      const stubs = noteMountStubs(view, binds);
      progress.log(`$ ${s.argv.join(" ")}`);
      await runStep(store, {
        step: s, control: job.controls.get(index) ?? { limits: {} }, where, recipe: job.name, index: index + 1,
        base: job.base, dirs: { scratch, upper, lowers: base }, now: job.now(), security: job.security, network, binds,
        redact: await secretRedactor(secrets, job.secrets),
      }, progress.output());
      await view.refreshUpper();
      await removeMountStubs(view, stubs);
      break;
    }
  }
}

/**
 * The merged tree of a stage's image, read-only, from its unpacked layers (unpacked here when
 * they are not yet): a view over the empty dir `upper`, nothing mounted, with the layers'
 * xattrs (read in the one getfattr per layer that finds its opaque directories).
 */
async function stageView(store: Store, layers: readonly LayerDescriptor[], upper: string, progress: Progress): Promise<RootfsView> {
  await mkdir(upper, { mode: 0o755 });
  const dirs = await unpackedLayers(store, layers, (l) => overlayTarget(store, l), (line) => progress.log(line));
  return RootfsView.open(upper, [...dirs].reverse(), { xattrs: true });
}

/**
 * Copies what a copy-from step names in `stage` into the build's view, under `s.to`: each node
 * with the stage's owner and permission bits (the step's uid, gid and, for files, mode over
 * them), symlinks as links, files that are hard links of each other in the stage as one file.
 * Directories the image already has keep theirs; new parents of `to` are root's, 0755. Files keep
 * the xattrs minic carries (security.capability, user.*) that they have in the stage, set in one
 * setfattr after every owner (nothing runs when none has any). Returns how many copied files had
 * xattrs minic does not carry (left out; overlayfs' trusted.overlay.* are not counted).
 */
export async function copyFromStage(view: RootfsView, s: CanonicalCopyFrom, where: string, stage: RootfsView): Promise<number> {
  const nodes = stageNodes(stage, s.from, where, `'${s.stage}'`);
  const rows: XattrRow[] = [];
  let dropped = 0;
  const to = view.resolve(s.to, true);
  await view.ensureDir(to, { mode: 0o755, uid: s.uid ?? 0, gid: s.gid ?? 0 });
  const landed = new Map<string, string>();
  for (const n of nodes) {
    const meta = { mode: n.kind === "file" && s.mode !== undefined ? s.mode : n.st.mode & 0o7777, uid: s.uid ?? n.st.uid, gid: s.gid ?? n.st.gid };
    if (n.kind === "dir") {
      await view.ensureDir(view.resolve(`/${to}/${n.rel}`, true), meta);
      continue;
    }
    const rel = view.resolve(`/${to}/${n.rel}`);
    await view.ensureDir(rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "", { mode: 0o755, uid: s.uid ?? 0, gid: s.gid ?? 0 });
    if (n.kind === "symlink") {
      await view.putSymlink(rel, n.linkname!, meta.uid, meta.gid);
      continue;
    }
    const first = n.linkKey === undefined ? undefined : landed.get(n.linkKey);
    if (first !== undefined && (await view.putHardLink(rel, first))) continue;
    await view.putFileFrom(rel, n.hostPath, meta).catch((e: unknown) => {
      throw withContext(e, `${where}: copy from stage '${s.stage}'`);
    });
    if (n.linkKey !== undefined) landed.set(n.linkKey, rel);
    const found = n.xattrs?.filter((x) => !x.name.startsWith("trusted.overlay."));
    if (!found?.length) continue;
    const split = splitXattrs(found, n.hostPath);
    if (split.carried.length > 0) rows.push({ path: rel, xattrs: split.carried });
    if (split.dropped.length > 0) dropped++;
  }
  await setXattrs(view.upper, rows);
  return dropped;
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
