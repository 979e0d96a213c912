// minic doctor: what this host supports for running containers and what to install.
import { doctorReport, gatherDoctorFacts } from "../runtime/doctor.js";
import type { Command } from "./command.js";

export const doctorCommand: Command = {
  name: "doctor",
  noArgs: true,
  summary: "show what this host supports (overlayfs, aufs, nspawn, cgroups, netns), the store in use, and what to install",
  usage: "",
  options: {},
  async run(_values, _positionals, ctx) {
    const r = doctorReport(await gatherDoctorFacts(ctx.storeLocation(), ctx.cwd));
    const tag = { ok: "ok     ", note: "note   ", warn: "warn   ", missing: "MISSING" } as const;
    for (const l of r.lines) ctx.out(`${tag[l.level]}  ${l.text}`);
    ctx.out(r.install.length > 0 ? `to install: apt-get install ${r.install.join(" ")}` : "nothing to install");
    const missing = r.lines.some((l) => l.level === "missing");
    ctx.out(r.runnable ? "minic run: ready" : `minic run: not ready (see ${missing ? "MISSING" : "warn"} above)`);
    return r.runnable ? 0 : 1;
  },
};
