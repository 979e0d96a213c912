// minic export: the image's merged tree as one canonical newc cpio + bzip2 (rootfs.cpio.bz2), or
// as a tar (podman export's format) for `-o rootfs.tar` / `--format tar`.
import { MinicError } from "../core/errors.js";
import { flattenImage } from "../share/flatten.js";
import { exportFormatOf, flattenImageToTar, type ExportFormat } from "../share/export-tar.js";
import { writeOutput } from "../share/output.js";
import { str, type Command } from "./command.js";

const FORMATS: readonly ExportFormat[] = ["cpio", "tar", "tar.gz"];

export const exportCommand: Command = {
  name: "export",
  summary: "write an image's merged tree as one rootfs.cpio.bz2 (cpio -idm-able, initramfs-ready), or as a tar",
  usage: "IMAGE [-o FILE|-] [--format cpio|tar|tar.gz]  (-o NAME.tar or NAME.tar.gz picks the tar format)",
  options: { output: { type: "string", short: "o" }, format: { type: "string" } },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) throw new MinicError("EUSAGE", "export takes one IMAGE", { hint: "minic export hello -o rootfs.cpio.bz2" });
    const asked = str(values.format);
    if (asked !== undefined && !FORMATS.includes(asked as ExportFormat)) {
      throw new MinicError("EUSAGE", `export --format '${asked}' is not a format export writes`, { hint: "cpio (rootfs.cpio.bz2, the default), tar or tar.gz" });
    }
    const format = (asked as ExportFormat | undefined) ?? exportFormatOf(str(values.output));
    const store = await ctx.store();
    const image = await store.getImage(positionals[0]!);
    let entries = 0;
    const where = await writeOutput(values.output as string | undefined, ctx.cwd, async (out) => {
      entries = (format === "cpio" ? await flattenImage(store, image, out) : await flattenImageToTar(store, image, out, format === "tar.gz")).entries;
    }, store.root);
    ctx.err(`exported ${image.manifest.layers.length} layer(s)${entries >= 0 ? ` (${entries} entries)` : ""} to ${where}${format === "cpio" ? "" : ` as ${format}`}`);
    return 0;
  },
};
