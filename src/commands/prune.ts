// minic prune: remove every container and build run step whose minic is gone, what they left on
// the host, and the scratch space of killed builds.
import type { Command } from "./command.js";
import { sweep } from "./sweep.js";

export const pruneCommand: Command = {
  name: "prune",
  noArgs: true,
  summary: "remove stale containers and build steps (left by a killed minic), their processes, cgroups, netns and veths, and killed builds' scratch space",
  usage: "",
  options: {},
  async run(_values, _positionals, ctx) {
    const store = await ctx.store({ create: false });
    const { containers, temps } = await sweep(store, ctx);
    const steps = containers.filter((c) => c.build).length;
    const n = containers.length;
    ctx.out(`removed ${n} stale container${n === 1 ? "" : "s"}${steps > 0 ? ` (${steps} build step${steps === 1 ? "" : "s"})` : ""}` +
      (temps > 0 ? `, ${temps} temp file${temps === 1 ? "" : "s"} of killed minic processes` : ""));
    return 0;
  },
};
