// minic rmi: remove image references (blobs go with the next gc). An image a running container
// uses keeps its last name unless -f (gc keeps its layers while the container runs either way).
import type { Command } from "./command.js";
import type { Digest } from "../core/digest.js";
import { MinicError } from "../core/errors.js";
import { formatRef, parseRef, type ImageRef } from "../core/reference.js";
import { liveContainers } from "../runtime/state.js";

export const rmiCommand: Command = {
  name: "rmi",
  summary: "remove image names (run 'minic gc' to free their space)",
  usage: "[-f] IMAGE...",
  options: { force: { type: "boolean", short: "f" } },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new MinicError("EUSAGE", "rmi needs at least one image", { hint: "minic rmi hello:latest" });
    const store = await ctx.store();
    const refs: ImageRef[] = [];
    const targets = new Map<string, Digest>();
    for (const spec of positionals) {
      const asked = parseRef(spec);
      // A damaged name is removed as it is (it names no image; never fall back to localhost/).
      if (store.isDamagedRef(asked)) {
        refs.push(asked);
        continue;
      }
      const found = await store.lookupRef(asked);
      if (!found) throw new MinicError("ENOTFOUND", `no image '${formatRef(asked)}'`, { hint: "see 'minic images'" });
      refs.push(found.ref);
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
    for (const r of refs) {
      await store.deleteRef(r);
      ctx.out(`untagged ${formatRef(r)}`);
    }
    return 0;
  },
};
