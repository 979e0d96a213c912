// Pure: the data string of an overlayfs mount, with the escaping overlayfs needs.

/** Escapes `\`, `,` and `:` in a path for overlayfs mount options. */
export function escapeOverlayPath(p: string): string {
  return p.replace(/[\\,:]/g, (c) => `\\${c}`);
}

/**
 * Mount data for lowers (top first), an upper and a work dir. Features that would let upper
 * dirs refer back to lower ones (redirect_dir, metacopy, index) are off, so that an upper dir
 * is a self-contained diff that can be packed as a layer.
 */
export function overlayMountData(lowers: readonly string[], upper?: string, work?: string): string {
  const opts = [`lowerdir=${lowers.map(escapeOverlayPath).join(":")}`];
  if (upper && work) opts.push(`upperdir=${escapeOverlayPath(upper)}`, `workdir=${escapeOverlayPath(work)}`);
  opts.push("redirect_dir=off", "metacopy=off", "index=off", "xino=off");
  return opts.join(",");
}
