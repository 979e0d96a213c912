// What a killed minic left, found and removed by the next command (run, ps, rm, prune, build, gc):
// its containers and build run steps (processes, cgroups, netns, veths, record), then the
// scratch space and temp files of processes that are gone.
import { sweepStale, type SweptContainer } from "../runtime/teardown.js";
import { sweepScratch } from "../store/scratch.js";
import type { Store } from "../store/store.js";
import type { Context } from "./command.js";

/** What a sweep removed. */
export interface Swept {
  containers: SweptContainer[];
  /** Scratch dirs and temp files of dead processes. */
  temps: number;
}

/** Pure: the note for one stale container or build step removed. */
export function sweptNote(g: SweptContainer): string {
  const what = g.build ? `build step ${g.build.step} of recipe '${g.build.recipe}' (${g.id})` : `container ${g.name} (${g.id})`;
  return `minic: removed stale ${what}${g.minicPid ? `: its minic (pid ${g.minicPid}) is gone` : ""}`;
}

/**
 * Releases containers and build steps whose minic is gone, telling the user, then removes the
 * temp files of dead processes (after: a killed build's step may still be writing its scratch).
 */
export async function sweep(store: Store, ctx: Context): Promise<Swept> {
  const containers = await sweepStale(store.layout.containersDir);
  for (const g of containers) ctx.err(sweptNote(g));
  return { containers, temps: await sweepScratch(store) };
}
