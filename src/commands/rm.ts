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

/** How long `rm -f` waits after the stop signal when neither -t nor the container's record says (podman's 10 s). */
const DEFAULT_STOP_MS = 10_000;

export const rmCommand: Command = {
  name: "rm",
  summary: "remove containers (-f: stop running ones first)",
  usage: "[-f [-t SECONDS]] CONTAINER...",
  options: { force: { type: "boolean", short: "f" }, time: { type: "string", short: "t" } },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new MinicError("EUSAGE", "rm needs a container id or name", { hint: "see 'minic ps'" });
    const time = values.time === undefined ? undefined : Number(values.time);
    if (time !== undefined && !(Number.isFinite(time) && time >= 0 && String(values.time).trim() !== "")) {
      throw new MinicError("EUSAGE", `invalid -t '${String(values.time)}'`, { hint: "give the seconds to wait after the stop signal before killing, e.g. -t 10 (0 kills at once)" });
    }
    if (time !== undefined && !values.force) throw new MinicError("EUSAGE", "-t needs -f", { hint: "minic rm -f -t SECONDS CONTAINER" });
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
          ctx.err(`minic: container ${c.state.name} (${c.id}) is running (hint: 'minic rm -f ${c.state.name}' stops and removes it)`);
          status = 1;
          continue;
        }
        // As podman: the stop signal first, through the container's minic (SIGTERM to it sends
        // the image's stop signal, see run-container.ts); what still runs after the stop time is
        // killed. A build's run step (SIGTERM would stop the whole build) is killed at once.
        const wait = c.state.build ? 0 : time !== undefined ? time * 1000 : c.state.stopTimeoutMs ?? DEFAULT_STOP_MS;
        if (wait > 0) {
          signal(c.state.minicPid, "SIGTERM");
          await gone(c.dir, wait);
        }
        if (existsSync(c.dir)) {
          // Kill its processes; its minic sees the exit and releases everything itself.
          killCgroups(c.state.cgroups);
          if (c.state.pid) signal(c.state.pid, "SIGKILL");
        }
        await gone(c.dir, 5000);
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

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** Waits until `dir` is gone (its minic has released the container), at most `ms`. */
async function gone(dir: string, ms: number): Promise<void> {
  for (const end = Date.now() + ms; existsSync(dir) && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
}
