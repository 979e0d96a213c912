// minic gc: free what no image references.
import type { Command } from "./command.js";
import { gc } from "../store/gc.js";
import { humanSize } from "./images.js";

export const gcCommand: Command = {
  name: "gc",
  summary: "remove blobs, unpacked layers and cache records that no image references",
  usage: "[--json]",
  options: { json: { type: "boolean" } },
  async run(values, _positionals, ctx) {
    const store = await ctx.store();
    const r = await gc(store);
    if (values.json) ctx.out(JSON.stringify(r));
    else ctx.out(`removed ${r.blobs} blob(s) (${humanSize(r.bytes)}), ${r.unpacked} unpacked layer(s), ${r.cacheRecords} cache record(s)`);
    return 0;
  },
};
