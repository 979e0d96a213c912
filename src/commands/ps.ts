// minic ps: list the containers running from this store (after removing stale ones).
import { listContainers, supervisorAlive } from "../runtime/state.js";
import { sweep } from "./run.js";
import type { Command } from "./command.js";

export const psCommand: Command = {
  name: "ps",
  summary: "list running containers (stale ones left by a killed minic are removed first)",
  usage: "[--quiet] [--json]",
  options: { quiet: { type: "boolean", short: "q" }, json: { type: "boolean" } },
  async run(values, _positionals, ctx) {
    const store = await ctx.store();
    await sweep(store.layout.containersDir, ctx);
    const rows = listContainers(store.layout.containersDir).filter((c) => c.state && supervisorAlive(c.state)).map((c) => c.state!);
    if (values.json) {
      ctx.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    if (values.quiet) {
      for (const r of rows) ctx.out(r.id);
      return 0;
    }
    const table = [["ID", "NAME", "IMAGE", "PID", "NET", "CREATED", "COMMAND"]];
    for (const r of rows) {
      table.push([r.id, r.name, r.image, String(r.pid ?? "-"), r.address ? `${r.net} ${r.address}` : r.net, r.created.replace(/\.\d+Z$/, "Z"), r.command.join(" ")]);
    }
    const w = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) ctx.out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(w[i]!))).join("  "));
    return 0;
  },
};
