// minic ps: list the containers running from this store, and the run steps of builds in
// progress (after removing stale ones).
import { listContainers, supervisorAlive, type ContainerState } from "../runtime/state.js";
import { formatOption, printFormatted, type Command } from "./command.js";
import { sweep } from "./sweep.js";

/** Pure: the IMAGE column: the image, or for a build's run step what it builds ("hello (build step 2)"). */
export function imageColumn(s: ContainerState): string {
  return s.build ? `${s.build.recipe} (build step ${s.build.step})` : s.image;
}

export const psCommand: Command = {
  name: "ps",
  noArgs: true,
  summary: "list running containers and build run steps (stale ones left by a killed minic are removed first)",
  usage: "[-q|--quiet] [-a|--all] [--json | --format TEMPLATE]",
  // -a (podman's "also the stopped ones"): minic keeps no stopped containers, so all is what runs.
  options: { quiet: { type: "boolean", short: "q" }, all: { type: "boolean", short: "a" }, json: { type: "boolean" }, format: { type: "string" } },
  async run(values, _positionals, ctx) {
    const format = formatOption(values, { names: "name", createdat: "created" });
    const store = await ctx.store({ create: false });
    await sweep(store, ctx);
    const rows = listContainers(store.layout.containersDir).filter((c) => c.state && supervisorAlive(c.state)).map((c) => c.state!);
    if (values.json) {
      ctx.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    if (format) {
      printFormatted(ctx, format, rows);
      return 0;
    }
    if (values.quiet) {
      for (const r of rows) ctx.out(r.id);
      return 0;
    }
    const table = [["ID", "NAME", "IMAGE", "PID", "NET", "CREATED", "COMMAND"]];
    for (const r of rows) {
      table.push([r.id, r.name, imageColumn(r), String(r.pid ?? "-"), r.address ? `${r.net} ${r.address}` : r.net, r.created.replace(/\.\d+Z$/, "Z"), r.command.join(" ")]);
    }
    const w = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) ctx.out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(w[i]!))).join("  "));
    return 0;
  },
};
