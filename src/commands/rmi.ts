// minic rmi: remove image references (blobs go with the next gc). An image a running container
// uses keeps its last name unless -f (gc keeps its layers while the container runs either way).
import type { Command } from "./command.js";
import { isDigest, type Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { formatRef, parseRef, type ImageRef } from "../core/reference.js";
import { liveContainers } from "../runtime/state.js";
import { noImageWithId } from "../store/store.js";

export const rmiCommand: Command = {
  name: "rmi",
  summary: "remove image names (run 'minic gc' to free their space)",
  usage: "[-f] IMAGE|ID...",
  options: { force: { type: "boolean", short: "f" } },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new MinicError("EUSAGE", "rmi needs at least one image", { hint: "minic rmi hello:latest" });
    const store = await ctx.store({ create: false });
    const refs = new Map<string, ImageRef>(); // each name once, however often it was asked for
    const targets = new Map<string, Digest>();
    for (const spec of positionals) {
      // An image ID (a manifest digest, or 12+ of its hex digits as 'images' shows them) means
      // every name of that image: as podman and docker do, only with -f when it has several.
      // An ambiguous prefix may still be a name (as for run: see Store.getImage).
      const byId = isDigest(spec) ? [{ manifest: spec, names: await store.namesOf(spec) }] : await store.namedByIdPrefix(spec);
      if (byId && byId.length > 1 && !(await store.lookupRef(parseRef(spec)))) {
        throw new MinicError("EREF", `'${spec}' is the start of ${byId.length} image digests`, { hint: "give more digits of the digest, or the image name" });
      }
      if (byId?.length === 1) {
        const { manifest, names } = byId[0]!;
        if (names.length === 0) throw new MinicError("ENOTFOUND", `no image with manifest digest ${manifest} has a name`, { hint: "see 'minic images'; 'minic gc' frees unnamed images" });
        if (names.length > 1 && !values.force) {
          throw new MinicError("EUSAGE", `image ${spec} has ${names.length} names (${names.map(formatRef).join(", ")})`, { hint: "remove the names one by one, or all of them with 'minic rmi -f'" });
        }
        for (const r of names) {
          refs.set(formatRef(r), r);
          targets.set(formatRef(r), manifest);
        }
        continue;
      }
      const asked = parseRef(spec);
      // A damaged name is removed as it is (it names no image; never fall back to localhost/).
      if (store.isDamagedRef(asked)) {
        refs.set(formatRef(asked), asked);
        continue;
      }
      const found = await store.lookupRef(asked);
      if (!found) throw byId ? noImageWithId(spec) : new MinicError("ENOTFOUND", `no image '${formatRef(asked)}'`, { hint: "see 'minic images'" });
      refs.set(formatRef(found.ref), found.ref);
      targets.set(formatRef(found.ref), found.manifest);
    }
    if (!values.force) {
      // Refuse only when no name would be left for an image in use: dropping one of several tags is harmless.
      const left = new Set((await store.listRefs()).filter((r) => !targets.has(formatRef(r.ref))).map((r) => r.manifest));
      const live = liveContainers(store.layout.containersDir);
      for (const [name, d] of targets) {
        const user = live.find((s) => s.manifestDigest === d);
        if (user && !left.has(d)) {
          throw new MinicError("EBUSY", `image '${name}' is used by running container ${user.name} (${user.id})`, {
            hint: `stop it first ('minic rm -f ${user.name}'), or untag anyway with 'minic rmi -f' (gc keeps its layers while it runs)`,
          });
        }
      }
    }
    for (const r of refs.values()) {
      // Gone since it was looked up: another minic removed it (or retagged and removed it) meanwhile.
      if (!(await store.deleteRef(r))) throw new MinicError("ENOTFOUND", `no image '${formatRef(r)}': it was removed while this rmi ran`, { hint: "see 'minic images'" });
      ctx.out(`untagged ${formatRef(r)}`);
    }
    return 0;
  },
};
