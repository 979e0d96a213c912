// minic images: list the store's image references.
import { formatOption, printFormatted, type Command, type Context } from "./command.js";
import { messageLine } from "../core/errors.js";
import { formatRef } from "../core/reference.js";
import { humanSize } from "../core/size-text.js";

export const imagesCommand: Command = {
  name: "images",
  noArgs: true,
  summary: "list images in the store",
  usage: "[-q|--quiet] [--json | --format TEMPLATE]",
  options: { quiet: { type: "boolean", short: "q" }, json: { type: "boolean" }, format: { type: "string" } },
  async run(values, _positionals, ctx) {
    const format = formatOption(values, { repository: "name", digest: "manifest" });
    const store = await ctx.store({ create: false });
    const rows: { id: string; name: string; tag: string; manifest: string; layers?: number; size?: number; damaged?: string }[] = [];
    const { refs, bad } = await store.scanRefs();
    const damaged = bad.map((b) => `${b.entry} is not a reference (${b.why}): skipped`);
    for (const { ref, manifest } of refs) {
      try {
        // The config too: an image whose config is gone or damaged cannot run, export or push.
        const { manifest: m } = await store.readImage(manifest);
        rows.push({ id: manifest.slice(7, 19), name: ref.name, tag: ref.tag, manifest, layers: m.layers.length, size: m.layers.reduce((n, l) => n + l.size, 0) });
      } catch (e) {
        // One damaged image is listed as such; the others are listed as ever.
        rows.push({ id: manifest.slice(7, 19), name: ref.name, tag: ref.tag, manifest, damaged: messageLine(e) });
        damaged.push(`image ${formatRef(ref)}: ${messageLine(e)}`);
      }
    }
    if (values.json) ctx.out(JSON.stringify(rows, null, 2));
    else if (values.quiet) {
      // The image IDs (as podman's -q: one line per image, however many names it has).
      for (const id of new Set(rows.map((r) => r.id))) ctx.out(id);
    } else if (format) {
      printFormatted(ctx, format, rows);
    } else {
      const table = [["IMAGE", "MANIFEST", "LAYERS", "SIZE"], ...rows.map((r) => [formatRef(r), r.manifest.slice(7, 19), r.damaged ? "?" : String(r.layers), r.damaged ? "(damaged)" : humanSize(r.size!)])];
      const w = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
      for (const row of table) ctx.out(row.map((cell, c) => cell.padEnd(w[c]!)).join("  ").trimEnd());
    }
    return reportDamage(ctx, damaged);
  },
};


/**
 * Tells the user about each damaged image or store entry a command went past (one line each,
 * and once what to do); returns the command's exit status: 1 when there was any, else 0.
 */
export function reportDamage(ctx: Pick<Context, "err">, damaged: readonly string[]): number {
  for (const d of damaged) ctx.err(`minic: ${d}`);
  if (damaged.length > 0) ctx.err("minic: run 'minic fsck' to check the whole store and repair what can be repaired; build, load or pull damaged images again");
  return damaged.length > 0 ? 1 : 0;
}
