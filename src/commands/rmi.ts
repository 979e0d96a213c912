// minic rmi: remove image references (blobs go with the next gc).
import type { Command } from "./command.js";
import { MinicError } from "../core/errors.js";
import { formatRef, parseRef } from "../core/reference.js";

export const rmiCommand: Command = {
  name: "rmi",
  summary: "remove image names (run 'minic gc' to free their space)",
  usage: "IMAGE...",
  options: {},
  async run(_values, positionals, ctx) {
    if (positionals.length === 0) throw new MinicError("EUSAGE", "rmi needs at least one image", { hint: "minic rmi hello:latest" });
    const store = await ctx.store();
    const refs = positionals.map(parseRef);
    for (const r of refs) {
      if (!(await store.resolveRef(r))) throw new MinicError("ENOTFOUND", `no image '${formatRef(r)}'`, { hint: "see 'minic images'" });
    }
    for (const r of refs) {
      await store.deleteRef(r);
      ctx.out(`untagged ${formatRef(r)}`);
    }
    return 0;
  },
};
