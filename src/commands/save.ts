// minic save: write images (layers, configs, manifests) to one tar, as minic or OCI layout.
import { MinicError } from "../core/errors.js";
import { formatRef } from "../core/reference.js";
import { saveImages, type SaveFormat, type SaveItem } from "../share/save.js";
import { writeOutput } from "../share/output.js";
import type { Command } from "./command.js";

export const saveCommand: Command = {
  name: "save",
  summary: "write images to a tar (minic layout, or --format oci for podman/skopeo/docker)",
  usage: "IMAGE... [-o FILE|-] [--format minic|oci]",
  options: { output: { type: "string", short: "o" }, format: { type: "string" } },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new MinicError("EUSAGE", "save needs at least one IMAGE", { hint: "minic save hello -o hello.tar" });
    const format = (values.format ?? "minic") as SaveFormat;
    if (format !== "minic" && format !== "oci") throw new MinicError("EUSAGE", `unknown --format '${String(values.format)}'`, { hint: "use minic (default) or oci" });
    const store = await ctx.store();
    const items: SaveItem[] = [];
    for (const spec of positionals) {
      const image = await store.getImage(spec);
      if (!image.ref) throw new MinicError("EUSAGE", `'${spec}' has no name to save it under`, { hint: "save it by NAME[:TAG]" });
      // Each name once (save hello hello wrote it twice).
      if (!items.some((i) => formatRef(i.ref) === formatRef(image.ref!))) items.push({ ref: image.ref, image });
    }
    const where = await writeOutput(values.output as string | undefined, ctx.cwd, (out) => saveImages(store, items, format, out), store.root);
    ctx.err(`saved ${items.length} image(s) as ${format} to ${where}`);
    return 0;
  },
};
