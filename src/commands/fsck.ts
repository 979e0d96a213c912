// minic fsck: check the whole store (refs, images and their blobs, unpacked layers, the build's
// records, temp files, containers) and repair what can be repaired; say what to do about the rest.
import type { Digest } from "../core/digest.js";
import { checkBuildRecords } from "../builder/check-records.js";
import { listContainers, supervisorAlive } from "../runtime/state.js";
import { fsckStore, type FsckProblem } from "../store/fsck.js";
import type { Command } from "./command.js";

export const fsckCommand: Command = {
  name: "fsck",
  noArgs: true,
  summary: "check the whole store and repair what can be repaired (--dry-run: only check)",
  usage: "[--dry-run] [--json]",
  options: { "dry-run": { type: "boolean", short: "n" }, json: { type: "boolean" } },
  async run(values, _positionals, ctx) {
    const repair = !values["dry-run"];
    const store = await ctx.store({ create: false });
    const containers = listContainers(store.layout.containersDir);
    const inUse = new Set(containers.flatMap((c) => (c.state && supervisorAlive(c.state) ? [c.state.manifestDigest as Digest] : [])));
    const report = await fsckStore(store, { repair, inUse });
    const records = await checkBuildRecords(store, repair);
    report.checked.records = records.checked;
    report.problems.push(...records.problems);
    for (const c of containers) {
      // A container whose minic is gone is prune's to remove (it kills what is left on the host).
      if (c.state && supervisorAlive(c.state)) continue;
      const problem = c.state ? `its minic (pid ${c.state.minicPid}) is gone` : "it has no intact state record";
      if (c.state || Date.now() - c.mtimeMs > 60_000) report.problems.push({ kind: "container", what: `containers/${c.id}`, problem, repaired: false, fix: "run 'minic prune'" });
    }
    const left = report.problems.filter((p) => !p.repaired);
    if (values.json) {
      ctx.out(JSON.stringify({ ok: left.length === 0, repaired: repair, ...report }, null, 2));
      return left.length === 0 ? 0 : 1;
    }
    for (const p of report.problems) ctx.out(line(p, repair));
    const c = report.checked;
    const fixed = report.problems.length - left.length;
    ctx.out(`checked ${c.refs} ref(s), ${c.images} image(s), ${c.blobs} blob(s), ${c.unpacked} unpacked layer(s), ${c.records} build record(s): ` +
      (report.problems.length === 0 ? "no problems" : `${report.problems.length} problem(s), ${fixed} repaired${left.length ? `, ${left.length} left` : ""}`));
    return left.length === 0 ? 0 : 1;
  },
};

function line(p: FsckProblem, repair: boolean): string {
  const outcome = p.repaired ? "repaired" : p.fix ? `to do: ${p.fix}` : repair ? "not repaired" : "would be repaired";
  return `${p.what}: ${p.problem} (${outcome})`;
}
