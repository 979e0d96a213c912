// minic import: turn a directory tree (or an archive) into a one-layer image.
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { MinicError } from "../core/errors.js";
import { defaultRunConfig } from "../core/image.js";
import { formatRef, parseRef } from "../core/reference.js";
import { walkTree } from "../archive/walk-tree.js";
import { putLayer } from "../store/layers.js";
import { putImage, sourceDateEpoch } from "../store/images.js";
import type { Command } from "./command.js";

export const importCommand: Command = {
  name: "import",
  summary: "make a one-layer image from a directory tree",
  usage: "SOURCE -t NAME[:TAG]",
  options: { tag: { type: "string", short: "t" } },
  async run(values, positionals, ctx) {
    const [source] = positionals;
    if (!source || positionals.length > 1) throw new MinicError("EUSAGE", "import takes one SOURCE", { hint: "minic import DIR -t NAME[:TAG]" });
    if (typeof values.tag !== "string") throw new MinicError("EUSAGE", "import needs -t NAME[:TAG]", { hint: "e.g. minic import ./rootfs -t debian:12" });
    const ref = parseRef(values.tag);
    const path = resolve(ctx.cwd, source);
    const st = await stat(path).catch(() => null);
    if (!st) throw new MinicError("ENOTFOUND", `import source '${source}' does not exist`, { hint: "give a directory" });
    if (!st.isDirectory()) throw new MinicError("EUSAGE", `import source '${source}' is not a directory`, { hint: "give a directory" });
    const store = await ctx.store();
    const epoch = sourceDateEpoch();
    const tree = await walkTree(path);
    const layer = await putLayer(store, tree.map((t) => ({ entry: t.entry, data: t.hostPath })), epoch);
    const digest = await putImage(store, [layer], defaultRunConfig(), [{ createdBy: "import" }], epoch);
    await store.setRef(ref, digest);
    ctx.out(`${formatRef(ref)} ${digest}`);
    ctx.err(`imported ${tree.length} entries as layer ${layer.diffId} (${layer.size} bytes compressed)`);
    return 0;
  },
};
