// Reading a minic layer's blob once: decompressed, its cpio hashed for the diff id, every member
// admitted by the member policy unchanged, and (given a temp dir) unpacked there in the same
// read. What load and pull do with every layer they take in, as the blob is staged or after.
import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { decompress } from "../archive/bzip2.js";
import { checkedMembers } from "../archive/canonical-check.js";
import type { CpioMember } from "../archive/cpio-reader.js";
import type { EntryKind } from "../archive/entry.js";
import { unpackMembers } from "../archive/unpack.js";
import type { Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { trustedOptions } from "../store/layers.js";
import { admitMember, type MemberPolicy } from "./member-policy.js";

/** What one read of a layer found: its diff id (to compare with the descriptor's) and the opaque directories it unpacked. */
export interface LayerRead {
  diffId: Digest;
  opaque: string[];
  /** The temp dir it was unpacked into, when it was given one. */
  tmp?: string;
}

/**
 * Reads the bzip2 bytes `source` of a minic layer (`what` names it in errors) to their end:
 * throws EARCHIVE for a member the policy does not take unchanged (devices are refused unless
 * kept), a cpio not in the form minic writes (CanonicalCheck: one tree, one reading) or one
 * that ends early. With `tmp` (a fresh path), the members are unpacked there as
 * minic's own layers are (overlay form); on any failure it is removed. The caller compares the
 * diff id: the tree is not to be used before it matched.
 */
export async function readMinicLayer(source: AsyncIterable<Buffer>, policy: MemberPolicy, what: string, tmp?: string): Promise<LayerRead> {
  const diff = createHash("sha256");
  let ended = false;
  async function* plain(): AsyncGenerator<Buffer> {
    for await (const c of decompress(source)) {
      diff.update(c as Buffer);
      yield c as Buffer;
    }
    ended = true;
  }
  const kinds = new Map<string, EntryKind>();
  const strict: MemberPolicy = { ...policy, devices: policy.devices === "keep" ? "keep" : "refuse", aufsMeta: "refuse" };
  async function* admitted(): AsyncGenerator<CpioMember> {
    for await (const m of checkedMembers(plain(), what, "outside")) {
      const a = admitMember(kinds, { rawName: m.entry.name, entry: m.entry }, strict);
      if (a.action !== "skip") kinds.set(a.entry.name, a.entry.kind);
      yield m;
    }
    if (!ended) throw new MinicError("EARCHIVE", `layer ${what} was not read to its end`, { hint: "the layer has data after its cpio trailer, or is truncated; fetch or save it again" });
  }
  const diffId = () => `sha256:${diff.digest("hex")}` as Digest;
  if (tmp === undefined) {
    for await (const m of admitted()) for await (const _ of m.data);
    return { diffId: diffId(), opaque: [] };
  }
  await mkdir(tmp, { mode: 0o755 });
  try {
    const report = await unpackMembers(admitted(), tmp, trustedOptions("overlay"), "fresh");
    return { diffId: diffId(), opaque: report.opaque, tmp };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
