// minic rm: remove containers by id (or unique id prefix) or name; -f stops running ones.
import { existsSync } from "node:fs";
import { MinicError } from "../core/errors.js";
import { killCgroups } from "../runtime/cgroups.js";
import { listContainers, supervisorAlive, type ContainerEntry } from "../runtime/state.js";
import { releaseContainer } from "../runtime/teardown.js";
import { sweep } from "./sweep.js";
import type { Command } from "./command.js";

/** Finds one container by name, full id or unique id prefix. */
export function findContainer(all: readonly ContainerEntry[], key: string): ContainerEntry | undefined {
  const byName = all.find((c) => c.state?.name === key || c.id === key);
  if (byName) return byName;
  const hits = all.filter((c) => c.id.startsWith(key));
  if (hits.length > 1) throw new MinicError("EUSAGE", `'${key}' matches ${hits.length} containers`, { hint: "give more of the id, or the name" });
  return hits[0];
}

export const rmCommand: Command = {
  name: "rm",
  summary: "remove containers (-f: stop running ones first)",
  usage: "[-f] CONTAINER...",
  options: { force: { type: "boolean", short: "f" } },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new MinicError("EUSAGE", "rm needs a container id or name", { hint: "see 'minic ps'" });
    const store = await ctx.store({ create: false });
    const swept = (await sweep(store, ctx)).containers.map((c) => c.id);
    let status = 0;
    for (const key of positionals) {
      const c = findContainer(listContainers(store.layout.containersDir), key);
      if (!c) {
        if (swept.some((id) => id.startsWith(key))) continue;
        ctx.err(`minic: no container '${key}' (hint: see 'minic ps')`);
        status = 1;
        continue;
      }
      if (c.state && supervisorAlive(c.state)) {
        if (!values.force) {
          ctx.err(`minic: container ${c.state.name} (${c.id}) is running (hint: stop it, or use 'minic rm -f')`);
          status = 1;
          continue;
        }
        // Kill its processes; its minic sees the exit and releases everything itself.
        killCgroups(c.state.cgroups);
        if (c.state.pid) {
          try {
            process.kill(c.state.pid, "SIGKILL");
          } catch {
            /* gone */
          }
        }
        for (let i = 0; i < 500 && existsSync(c.dir); i++) await new Promise((r) => setTimeout(r, 10));
        if (existsSync(c.dir) && supervisorAlive(c.state)) {
          // Its minic is still releasing: a second teardown would race it (cgroup rmdir EBUSY).
          ctx.err(`minic: container ${c.state.name} (${c.id}) was killed; its minic is still cleaning up (hint: run 'minic ps' in a moment)`);
          ctx.out(c.id);
          continue;
        }
      }
      if (existsSync(c.dir)) await releaseContainer(c.dir, c.state ?? {});
      ctx.out(c.id);
    }
    return status;
  },
};
