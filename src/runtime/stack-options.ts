// Pure: mount data for stacking layers with overlayfs or aufs, kept within the one page that
// mount(2) copies. Deep stacks use a "farm" of short relative symlinks to the layer dirs.
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { MinicError } from "../core/errors.js";

/** Bytes of option data mount(2) copies (one page, including the final NUL). */
export const MOUNT_DATA_MAX = 4096;
/** overlayfs refuses more lower layers than this (OVL_MAX_STACK). */
export const OVERLAY_MAX_LAYERS = 500;

/** Escapes `\`, `,` and `:` in a path for overlayfs mount options. */
export function escapeOverlayPath(p: string): string {
  return p.replace(/[\\,:]/g, (c) => `\\${c}`);
}

/**
 * Features that would make the upper dir refer back to lower ones (renamed dirs as redirects,
 * metadata-only copy-ups, the inode index) are off, so an upper dir is a self-contained diff:
 * a build packs it as a layer.
 */
const SELF_CONTAINED = ",redirect_dir=off,metacopy=off,index=off,xino=off";

/** A mount of the stacked layers: run `mount -t fstype -o options source target` in `cwd`. */
export interface StackMount {
  fstype: "overlay" | "aufs";
  /** Working directory for the mount command (relative paths in `options` resolve there). */
  cwd: string;
  options: string;
  /** Symlinks to create first: `name` (relative to the container dir) → `target` (a layer dir). */
  links: { name: string; target: string }[];
}

export interface StackDirs {
  /** The container's directory; upper, work and the link farm live in it. */
  dir: string;
  upper: string;
  work: string;
}

/**
 * overlayfs mount data for `layers` (base first, as in a manifest) with a fresh upper and work
 * dir. Uses absolute escaped paths when they fit in a page; otherwise the farm `l/0..l/N-1`
 * with cwd in it (about 4 bytes a layer), which fits the 500 layers overlayfs allows.
 * Throws ERUN when the stack is deeper than overlayfs allows.
 */
export function overlayStack(layers: readonly string[], d: StackDirs): StackMount {
  if (layers.length === 0) throw new MinicError("ERUN", "image has no layers", { hint: "build or import an image with at least one layer" });
  if (layers.length > OVERLAY_MAX_LAYERS) {
    throw new MinicError("ERUN", `image has ${layers.length} layers; overlayfs stacks at most ${OVERLAY_MAX_LAYERS}`, { hint: "run it with --storage-driver copy, or squash layers" });
  }
  const top = [...layers].reverse();
  const abs = `lowerdir=${top.map(escapeOverlayPath).join(":")},upperdir=${escapeOverlayPath(d.upper)},workdir=${escapeOverlayPath(d.work)}${SELF_CONTAINED}`;
  if (fits(abs)) return { fstype: "overlay", cwd: d.dir, options: abs, links: [] };
  const farm = `${d.dir}/l`;
  const names = layers.map((_, i) => String(i));
  const rel = `lowerdir=${[...names].reverse().join(":")},upperdir=${escapeOverlayPath(d.upper)},workdir=${escapeOverlayPath(d.work)}${SELF_CONTAINED}`;
  if (!fits(rel)) throw new MinicError("ERUN", "overlay mount options do not fit in a page", { hint: "use a store path without long names, or --storage-driver copy" });
  return { fstype: "overlay", cwd: farm, options: rel, links: names.map((name, i) => ({ name: `l/${name}`, target: layers[i]! })) };
}

/**
 * aufs mount data: `br:UPPER=rw:TOP=ro+wh:…:BASE=ro+wh` (aufs reads `.wh.` files in the layer
 * dirs natively). aufs has no escaping, so paths with `:`, `,` or `=` always go through the farm.
 */
export function aufsStack(layers: readonly string[], d: StackDirs): StackMount {
  if (layers.length === 0) throw new MinicError("ERUN", "image has no layers", { hint: "build or import an image with at least one layer" });
  const plain = (p: string) => !/[:,=\\]/.test(p);
  const top = [...layers].reverse();
  const abs = `br:${d.upper}=rw:${top.map((l) => `${l}=ro+wh`).join(":")}`;
  if ([d.upper, ...layers].every(plain) && fits(abs + ",dio")) return { fstype: "aufs", cwd: d.dir, options: `${abs},dio`, links: [] };
  const names = layers.map((_, i) => String(i));
  const rel = `br:upper=rw:${[...names].reverse().map((n) => `l/${n}=ro+wh`).join(":")},dio`;
  if (!fits(rel)) throw new MinicError("ERUN", `image has too many layers (${layers.length}) for one aufs mount`, { hint: "use --storage-driver overlay or copy" });
  return { fstype: "aufs", cwd: d.dir, options: rel, links: names.map((name, i) => ({ name: `l/${name}`, target: layers[i]! })) };
}

function fits(options: string): boolean {
  return Buffer.byteLength(options) < MOUNT_DATA_MAX;
}

/**
 * Creates the stack's link farm under `dir` (idempotent: a link already pointing at its layer is
 * kept, so a build's second run step can reuse the farm of its first).
 */
export function makeLinkFarm(dir: string, links: StackMount["links"]): void {
  if (links.length === 0) return;
  mkdirSync(join(dir, "l"), { recursive: true });
  for (const k of links) {
    const p = join(dir, k.name);
    let current: string | undefined;
    try {
      current = readlinkSync(p);
    } catch {
      current = undefined;
    }
    if (current === k.target) continue;
    if (current !== undefined) rmSync(p, { force: true });
    symlinkSync(k.target, p);
  }
}
