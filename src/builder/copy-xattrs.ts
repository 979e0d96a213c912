// A copy step's files keep the extended attributes of their host files that minic carries.
import { filesXattrs, setXattrs } from "../archive/xattr-io.js";
import type { Digest } from "../core/digest.js";
import { splitXattrs, xattrsDigest, type XattrRow } from "../core/xattrs.js";
import { StaleInputError } from "./stale-input.js";

/**
 * Gives each copied file in `upper` (at `rel`, just written there) the carried xattrs of its host
 * file (security.capability, user.*), read in one getfattr per 512 files and set in one setfattr;
 * set after the file's owner, whose change would clear a capability. What is set must be what
 * the cache key holds (`xattrs`: their digest, absent for none): a file whose xattrs changed since
 * throws StaleInputError (the build hashes its inputs again once). Returns how many files had
 * xattrs minic does not carry (left out). Throws EARCHIVE for an xattr over the size limit.
 */
export async function copyXattrs(upper: string, copied: readonly { rel: string; hostPath: string; xattrs?: Digest }[], where: string): Promise<number> {
  if (copied.length === 0) return 0;
  const found = await filesXattrs(copied.map((c) => c.hostPath));
  const rows: XattrRow[] = [];
  let dropped = 0;
  for (const c of copied) {
    const list = found.get(c.hostPath);
    const split = list === undefined ? { carried: [], dropped: [] } : splitXattrs(list, c.hostPath);
    if ((split.carried.length > 0 ? xattrsDigest(split.carried) : undefined) !== c.xattrs) throw new StaleInputError(where, c.hostPath, "extended attributes");
    if (split.carried.length > 0) rows.push({ path: c.rel, xattrs: split.carried });
    if (split.dropped.length > 0) dropped++;
  }
  await setXattrs(upper, rows);
  return dropped;
}
