// minic export: the image's merged tree as one canonical newc cpio + bzip2 (rootfs.cpio.bz2).
import { MinicError } from "../core/errors.js";
import { flattenImage } from "../share/flatten.js";
import { writeOutput } from "../share/output.js";
import type { Command } from "./command.js";

export const exportCommand: Command = {
  name: "export",
  summary: "write an image's merged tree as one rootfs.cpio.bz2 (cpio -idm-able, initramfs-ready)",
  usage: "IMAGE [-o FILE|-]",
  options: { output: { type: "string", short: "o" } },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) throw new MinicError("EUSAGE", "export takes one IMAGE", { hint: "minic export hello -o rootfs.cpio.bz2" });
    const store = await ctx.store();
    const image = await store.getImage(positionals[0]!);
    let entries = 0;
    const where = await writeOutput(values.output as string | undefined, ctx.cwd, async (out) => {
      entries = (await flattenImage(store, image, out)).entries;
    }, store.root);
    ctx.err(`exported ${image.manifest.layers.length} layer(s)${entries >= 0 ? ` (${entries} entries)` : ""} to ${where}`);
    return 0;
  },
};
