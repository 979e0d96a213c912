// minic images: list the store's image references.
import type { Command } from "./command.js";
import { formatRef } from "../core/reference.js";

export const imagesCommand: Command = {
  name: "images",
  summary: "list images in the store",
  usage: "[--json]",
  options: { json: { type: "boolean" } },
  async run(values, _positionals, ctx) {
    const store = await ctx.store({ create: false });
    const rows = [];
    for (const { ref, manifest } of await store.listRefs()) {
      const img = await store.readImage(manifest);
      const size = img.manifest.layers.reduce((n, l) => n + l.size, 0);
      rows.push({ name: ref.name, tag: ref.tag, manifest, layers: img.manifest.layers.length, size });
    }
    if (values.json) {
      ctx.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    const table = [["IMAGE", "MANIFEST", "LAYERS", "SIZE"], ...rows.map((r) => [formatRef(r), r.manifest.slice(7, 19), String(r.layers), humanSize(r.size)])];
    const w = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    for (const row of table) ctx.out(row.map((cell, c) => cell.padEnd(w[c]!)).join("  ").trimEnd());
    return 0;
  },
};

/** 1536 → "1.5 KiB". */
export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
