// minic load: read images from a tar (minic save, OCI layout, docker-archive; stdin with - or none).
import { formatRef } from "../core/reference.js";
import { LAYER_POLICY } from "../share/member-policy.js";
import { loadTarball } from "../share/load.js";
import { describeReport } from "../share/image-intake.js";
import { readInput } from "../share/output.js";
import { isLayoutDir, layoutTar } from "../share/layout-dir.js";
import { resolve } from "node:path";
import { MinicError } from "../core/errors.js";
import { str, tagOption, type Command } from "./command.js";

export const loadCommand: Command = {
  name: "load",
  summary: "load images from a tar (minic, OCI layout or docker-archive; - for stdin) or an OCI layout directory",
  usage: "[FILE|DIR|-|-i FILE] [-t NAME[:TAG]] [--keep-devices]",
  // -i/--input FILE: podman's way to name the file.
  options: { input: { type: "string", short: "i" }, tag: { type: "string", short: "t" }, "keep-devices": { type: "boolean" } },
  async run(values, args, ctx) {
    const positionals = [...(str(values.input) === undefined ? [] : [str(values.input)!]), ...args];
    if (positionals.length > 1) throw new MinicError("EUSAGE", "load takes one FILE", { hint: "minic load image.tar (or -i image.tar, not both)" });
    const tag = tagOption(values.tag);
    const store = await ctx.store();
    const policy = { ...LAYER_POLICY, devices: values["keep-devices"] ? "keep" as const : LAYER_POLICY.devices };
    // An OCI layout directory (skopeo's oci:DIR), as podman load -i DIR takes one.
    const dir = positionals[0] !== undefined && positionals[0] !== "-" ? resolve(ctx.cwd, positionals[0]) : undefined;
    const source = dir !== undefined && isLayoutDir(dir) ? layoutTar(dir) : readInput(positionals[0], ctx.cwd);
    const loaded = await loadTarball(store, source, tag ? { tag, policy } : { policy });
    for (const l of loaded) {
      for (const r of l.refs) ctx.out(`${formatRef(r)} ${l.manifestDigest}`);
      const note = describeReport(l.report);
      if (l.converted) ctx.err(`converted ${l.refs.map(formatRef).join(", ")} from OCI/docker tar layers${note ? `: ${note}` : ""}`);
    }
    return 0;
  },
};
