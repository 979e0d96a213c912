// minic prune: remove every container whose minic is gone, and what it left on the host.
import { sweep } from "./run.js";
import type { Command } from "./command.js";

export const pruneCommand: Command = {
  name: "prune",
  summary: "remove stale containers (left by a killed minic) and their mounts, cgroups, netns and veths",
  usage: "",
  options: {},
  async run(_values, _positionals, ctx) {
    const store = await ctx.store();
    const gone = await sweep(store.layout.containersDir, ctx);
    ctx.out(`removed ${gone.length} stale container${gone.length === 1 ? "" : "s"}`);
    return 0;
  },
};
